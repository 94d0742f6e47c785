// What `shipshape worker` does (declared in cli/commands/worker.ts): resolve
// its settings from the flags and the environment, open the signing policy
// (its trust root) and run the worker (workers/run.ts) until SIGINT/SIGTERM.
// A bad Pulumi setting or policy folder is a usage error: nothing is started.

import path from "node:path";
import { PulumiSettingsError } from "../../infra/pulumi/settings";
import { TASK_QUEUE } from "../../lib/names";
import { PolicyError } from "../../lib/signing/policy-dir";
import { runWorker } from "../../workers/run";
import { openWorkerPolicy } from "../../workers/signing-policy";
import { chooseWorkflowCode } from "../../workers/workflow-bundle";
import type { WorkerCommandOptions } from "../commands/worker";
import { type CliContext, EXIT_OK, EXIT_USAGE } from "../context";

export async function worker(ctx: CliContext, options: WorkerCommandOptions): Promise<void> {
  const env = process.env;
  let signing: ReturnType<typeof openWorkerPolicy>;
  try {
    signing = openWorkerPolicy(options.policy ?? (env.SHIPSHAPE_POLICY_DIR || null));
  } catch (err) {
    if (!(err instanceof PolicyError)) throw err;
    ctx.stderr(`✗ worker: ${err.message}`);
    ctx.exitCode = EXIT_USAGE;
    return;
  }
  // --workflow-bundle names one explicitly; otherwise the current build's, or the sources.
  const workflowCode = options.workflowBundle
    ? { bundle: path.resolve(options.workflowBundle), why: "--workflow-bundle" }
    : chooseWorkflowCode(env);
  const prometheusUrl = options.prometheusUrl ?? env.PROMETHEUS_URL;
  try {
    await runWorker({
      stateDir: path.resolve(options.stateDir ?? env.SHIPSHAPE_STATE_DIR ?? ".shipshape"),
      taskQueue: options.taskQueue ?? env.SHIPSHAPE_TASK_QUEUE ?? TASK_QUEUE,
      dev: Boolean(options.dev),
      signing,
      workflowCode,
      ...(options.identity ? { identity: options.identity } : {}),
      ...(options.secretsProvider ? { secretsProvider: options.secretsProvider } : {}),
      ...(prometheusUrl ? { prometheusUrl } : {}),
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
}
