// `shipshape worker`: the worker process (workers/run.ts). One worker serves
// any number of services and environments on every target its machine can
// reach; run several on one task queue to share the work.

import path from "node:path";
import { type Command, Option } from "commander";
import { TASK_QUEUE } from "../../lib/names";
import type { CliContext } from "../context";
import { EXIT_OK, EXIT_USAGE } from "../context";

export interface WorkerCommandOptions {
  stateDir?: string;
  taskQueue?: string;
  dev?: boolean;
  identity?: string;
  secretsProvider?: string;
  prometheusUrl?: string;
  workflowBundle?: string;
  testAwsInfra?: string;
}

export function registerWorker(program: Command, ctx: CliContext): Command {
  return program
    .command("worker")
    .description("run a worker: executes deployments of every service and environment on its task queue")
    .option(
      "--state-dir <dir>",
      "where releases, instance logs, routers and the default Pulumi backend live (default: $SHIPSHAPE_STATE_DIR or ./.shipshape)",
    )
    .option("--task-queue <name>", `task queue to poll (default: $SHIPSHAPE_TASK_QUEUE or ${TASK_QUEUE})`)
    .option("--dev", "development defaults: the documented dev Pulumi passphrase (npm run dev)")
    .option("--identity <name>", "worker identity shown in Temporal (default: shipshape-worker-<pid>)")
    .option(
      "--secrets-provider <url>",
      "Pulumi secrets provider of new stacks, e.g. awskms://alias/shipshape (default: passphrase)",
    )
    .option("--prometheus-url <url>", "Prometheus for `provider: prometheus` (default: $PROMETHEUS_URL)")
    .option("--workflow-bundle <file>", "pre-built workflow bundle (default: bundled at start)")
    .addOption(new Option("--test-aws-infra <module>").hideHelp())
    .addHelpText(
      "after",
      `
Temporal comes from the standard environment: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
TEMPORAL_TLS_CLIENT_CERT_PATH / _KEY_PATH, TEMPORAL_API_KEY or TEMPORAL_PROFILE.
Pulumi state: PULUMI_BACKEND_URL (file://…, s3://…, https://api.pulumi.com; default
a file backend under the state folder) and PULUMI_CONFIG_PASSPHRASE (or --secrets-provider),
required unless --dev. Databases and migrations come with each deployment.

Examples:
  shipshape worker --dev
  PULUMI_BACKEND_URL=s3://my-bucket/shipshape PULUMI_CONFIG_PASSPHRASE_FILE=/run/secrets/pulumi \\
    TEMPORAL_ADDRESS=my-ns.tmprl.cloud:7233 TEMPORAL_NAMESPACE=my-ns TEMPORAL_API_KEY=… \\
    shipshape worker --state-dir /var/lib/shipshape`,
    )
    .action(async (options: WorkerCommandOptions) => {
      // Loaded here, not at the top: only this command needs the worker (and its native Temporal core).
      const { runWorker } = require("../../workers/run") as typeof import("../../workers/run");
      const { PulumiSettingsError } =
        require("../../infra/pulumi/settings") as typeof import("../../infra/pulumi/settings");
      const env = process.env;
      try {
        await runWorker({
          stateDir: path.resolve(options.stateDir ?? env.SHIPSHAPE_STATE_DIR ?? ".shipshape"),
          taskQueue: options.taskQueue ?? env.SHIPSHAPE_TASK_QUEUE ?? TASK_QUEUE,
          dev: Boolean(options.dev),
          ...(options.identity ? { identity: options.identity } : {}),
          ...(options.secretsProvider ? { secretsProvider: options.secretsProvider } : {}),
          ...((options.prometheusUrl ?? env.PROMETHEUS_URL)
            ? { prometheusUrl: options.prometheusUrl ?? env.PROMETHEUS_URL }
            : {}),
          ...(options.workflowBundle ? { workflowBundle: path.resolve(options.workflowBundle) } : {}),
          ...(options.testAwsInfra ? { testAwsInfraModule: path.resolve(options.testAwsInfra) } : {}),
          env,
          log: (line) => ctx.stdout(line),
        });
        ctx.exitCode = EXIT_OK;
      } catch (err) {
        if (err instanceof PulumiSettingsError) {
          ctx.stderr(`✗ worker: ${err.message}`);
          ctx.exitCode = EXIT_USAGE;
          return;
        }
        throw err;
      }
    });
}
