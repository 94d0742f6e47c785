// `shipshape worker`: the worker process (what runs: cli/actions/worker.ts →
// workers/run.ts, loaded only when this command runs). One worker serves any
// number of services and environments on every target its machine can reach;
// run several on one task queue to share the work.

import { type Command, Option } from "commander";
import { TASK_QUEUE } from "../../lib/names";
import type { CliContext } from "../context";

export interface WorkerCommandOptions {
  stateDir?: string;
  taskQueue?: string;
  policy?: string;
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
    .option(
      "--policy <dir>",
      "trust root for signed decisions: pinned signers per service/environment (default: $SHIPSHAPE_POLICY_DIR; none: unsigned deployments only)",
    )
    .option("--dev", "development defaults: the documented dev Pulumi passphrase (npm run dev)")
    .option("--identity <name>", "worker identity shown in Temporal (default: shipshape-worker-<pid>)")
    .option(
      "--secrets-provider <url>",
      "Pulumi secrets provider of new stacks, e.g. awskms://alias/shipshape (default: passphrase)",
    )
    .option("--prometheus-url <url>", "Prometheus for `provider: prometheus` (default: $PROMETHEUS_URL)")
    .option(
      "--workflow-bundle <file>",
      "pre-built workflow bundle (default: $SHIPSHAPE_WORKFLOW_BUNDLE, else dist/workflow-bundle.js while current, else bundled at start)",
    )
    .addOption(new Option("--test-aws-infra <module>").hideHelp())
    .addHelpText(
      "after",
      `
Temporal comes from the standard environment: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
TEMPORAL_TLS_CLIENT_CERT_PATH / _KEY_PATH, TEMPORAL_API_KEY or TEMPORAL_PROFILE.
Pulumi state: PULUMI_BACKEND_URL (file://…, s3://…, https://api.pulumi.com; default
a file backend under the state folder) and PULUMI_CONFIG_PASSPHRASE (or --secrets-provider),
required unless --dev on a file backend. Run as root, the worker starts local instances as
SHIPSHAPE_INSTANCE_USER (default nobody). Databases and migrations come with each deployment.

Examples:
  shipshape worker --dev
  PULUMI_BACKEND_URL=s3://my-bucket/shipshape PULUMI_CONFIG_PASSPHRASE_FILE=/run/secrets/pulumi \\
    TEMPORAL_ADDRESS=my-ns.tmprl.cloud:7233 TEMPORAL_NAMESPACE=my-ns TEMPORAL_API_KEY=… \\
    shipshape worker --state-dir /var/lib/shipshape --policy /etc/shipshape/policy`,
    )
    .action(async (options: WorkerCommandOptions) => {
      const { worker } = await import("../actions/worker");
      await worker(ctx, options);
    });
}
