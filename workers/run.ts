/**
 * The worker process behind `shipshape worker`: one worker serves every
 * service and environment whose deployments reach its task queue, on every
 * target its machine can reach (infra/targets.ts builds the drivers of each
 * environment from its release config). Several workers on one task queue
 * share the work; a killed one's activities are retried on another.
 *
 * Everything it needs comes from its entry, explicitly: Temporal from the
 * standard env config (TEMPORAL_ADDRESS, namespace, TLS, API key, profiles),
 * the state folder and task queue from flags, Pulumi's backend and secrets
 * from PULUMI_BACKEND_URL / PULUMI_CONFIG_PASSPHRASE / --secrets-provider.
 * Databases come from each release config (`database.url`, `${env:…}`
 * resolved against this process's environment) and migrations with each
 * deployment: the worker has no per-service settings. Its signing policy
 * (`--policy <dir>`, workers/signing-policy.ts) is its trust root for signed
 * decisions; without one it runs unsigned deployments only.
 */
import fs from "node:fs";
import path from "node:path";
import { createActivities } from "../activities";
import { engineMigrationDriver } from "../activities/migration-driver";
import { createLogNotifier } from "../activities/notify-log";
import type { AwsTargetOptions } from "../infra/aws/target";
import { pulumiSettingsFrom } from "../infra/pulumi/settings";
import { createTargets } from "../infra/targets";
import { PROJECT_ROOT } from "../lib/runtime/paths";
import { temporalTarget } from "./connection";
import { createDeploymentWorker } from "./create-worker";
import { keepRunning } from "./keep-running";
import type { openWorkerPolicy } from "./signing-policy";
import type { WorkflowCodeChoice } from "./workflow-bundle";

export interface WorkerOptions {
  stateDir: string;
  taskQueue: string;
  /** Development defaults (the dev Pulumi passphrase); never for production. */
  dev: boolean;
  identity?: string;
  /** Pulumi secrets provider of new stacks (awskms://…); else PULUMI_CONFIG_PASSPHRASE. */
  secretsProvider?: string;
  /** Prometheus for `provider: prometheus` metrics. */
  prometheusUrl?: string;
  /** The workflow code to run (chooseWorkflowCode or --workflow-bundle): a bundle, or the sources bundled at start. */
  workflowCode: WorkflowCodeChoice;
  /** The opened signing policy (openWorkerPolicy) and the line the worker says about it. */
  signing: ReturnType<typeof openWorkerPolicy>;
  /**
   * Test only: a module whose `awsInfra(aws)` replaces the AWS target's Pulumi
   * driver (the AWS provider plugin cannot be installed in the test environment).
   */
  testAwsInfraModule?: string;
  /** The process environment (read only): Temporal, Pulumi and `${env:…}` of release configs. */
  env: Readonly<Record<string, string | undefined>>;
  log?: (line: string) => void;
}

function awsOptions(module: string | undefined): AwsTargetOptions {
  if (!module) return {};
  // The built worker (dist/) has no TypeScript loader; say so instead of a SyntaxError from the module.
  if (/\.[cm]?ts$/.test(module) && !require.extensions[".ts"])
    throw new Error(
      `--test-aws-infra ${module} is TypeScript and this worker runs as built: run it from the sources (SHIPSHAPE_FROM_SOURCE=1)`,
    );
  const loaded = require(module) as { awsInfra?: AwsTargetOptions["infra"] };
  if (typeof loaded.awsInfra !== "function") throw new Error(`${module} does not export awsInfra(aws)`);
  return { infra: loaded.awsInfra };
}

/** Runs the worker until SIGINT/SIGTERM (graceful: running activities get 30 s). */
export async function runWorker(options: WorkerOptions): Promise<void> {
  const log = options.log ?? ((line: string) => console.log(line));
  fs.mkdirSync(options.stateDir, { recursive: true });
  const pulumi = pulumiSettingsFrom({
    stateDir: options.stateDir,
    env: options.env,
    dev: options.dev,
    ...(options.secretsProvider ? { secretsProvider: options.secretsProvider } : {}),
  });
  const targets = createTargets(
    {
      stateDir: options.stateDir,
      pulumi,
      ...(options.prometheusUrl ? { prometheusUrl: options.prometheusUrl } : {}),
      log,
    },
    { aws: awsOptions(options.testAwsInfraModule) },
  );
  const migrations = engineMigrationDriver({ env: options.env, engine: { log } });
  const temporal = temporalTarget();
  const identity = options.identity ?? `shipshape-worker-${process.pid}`;
  const activities = createActivities({
    targets,
    migrations,
    notifier: createLogNotifier(log),
    env: options.env,
    signingPolicy: options.signing.policy,
  });
  // Which file and which workflow code run is never a guess (dist/ or the sources through tsx).
  const { workflowCode } = options;
  try {
    // Connects again (with backoff) while Temporal is unreachable, and starts a new Worker when one fails.
    await keepRunning({
      start: async () => {
        const { worker, connection } = await createDeploymentWorker({
          target: temporal,
          taskQueue: options.taskQueue,
          activities,
          ...(workflowCode.bundle ? { workflowBundlePath: workflowCode.bundle } : {}),
          identity,
        });
        return { worker, close: () => connection.close() };
      },
      onRunning: (_worker, attempt) => {
        if (attempt === 1)
          log(
            `worker ${process.pid}: ${path.relative(PROJECT_ROOT, __filename)}; workflow code ${workflowCode.bundle ? `from ${workflowCode.bundle}` : "bundled from the sources"} (${workflowCode.why})`,
          );
        log(
          `worker ${process.pid}: polling ${options.taskQueue} on ${temporal.address} (namespace ${temporal.namespace}); ` +
            `state ${options.stateDir}, Pulumi backend ${pulumi.backendUrl}; ${options.signing.line}`,
        );
      },
      log,
    });
  } finally {
    await migrations.close();
    log(`worker ${process.pid}: stopped`);
  }
}
