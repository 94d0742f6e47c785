// `shipshape deploy` and `shipshape rollback`: start a deployment from a
// validated release config. A bad config never starts one (invariant 7): the
// `validate` report is printed and the exit code is 2.

import path from "node:path";
import type { Command } from "commander";
import { listDeployments } from "../../client/deployments-query";
import { DeploymentAlreadyRunningError, startDeployment } from "../../client/start";
import { connectTemporal, webUiLink } from "../../client/temporal-client";
import { formatProblems, loadReleaseConfig, suggest } from "../../lib/config";
import { inputLengthProblems } from "../../lib/deployment/types";
import { type CliContext, EXIT_OK, EXIT_USAGE } from "../context";
import { CliError } from "../errors";
import { defaultActor } from "./actor";
import { watchDeployment } from "./status";

interface DeployOptions {
  service: string;
  version: string;
  env: string;
  config: string;
  reason?: string;
  artifact?: string;
  as?: string;
  watch?: boolean;
  json?: boolean;
  taskQueue?: string;
}

export async function deploy(ctx: CliContext, options: DeployOptions): Promise<void> {
  const configPath = path.resolve(options.config);
  const loaded = await loadReleaseConfig(configPath);
  if (!loaded.ok) {
    ctx.stderr(formatProblems(loaded.problems, { color: ctx.color }));
    ctx.stderr(`✗ not deploying: ${configPath} is invalid (nothing was started)`);
    ctx.exitCode = EXIT_USAGE;
    return;
  }
  const config = loaded.config;
  if (config.service !== options.service) {
    throw new CliError(
      `--service ${options.service} does not match the config's service "${config.service}" (${configPath})`,
    );
  }
  const environments = Object.keys(config.environments);
  if (!environments.includes(options.env)) {
    const hint = suggest(options.env, environments);
    throw new CliError(
      `environment "${options.env}" is not in ${configPath} (environments: ${environments.join(", ")})${hint ? ` — did you mean "${hint}"?` : ""}`,
    );
  }
  const tooLong = inputLengthProblems({
    version: options.version,
    requestedBy: options.as,
    reason: options.reason,
  });
  if (tooLong.length > 0) throw new CliError(`not deploying: ${tooLong.join("; ")}`);
  const temporal = await connectTemporal();
  try {
    let handle: Awaited<ReturnType<typeof startDeployment>>;
    try {
      handle = await startDeployment(
        temporal.client,
        {
          service: config.service,
          environment: options.env,
          version: options.version,
          artifact: options.artifact ?? options.version,
          requestedBy: options.as ?? defaultActor(),
          reason: options.reason ?? "",
          config,
          configDigest: loaded.digest,
          configPath,
        },
        { taskQueue: options.taskQueue },
      );
    } catch (err) {
      if (err instanceof DeploymentAlreadyRunningError) {
        throw new CliError(`${err.message}\n  watch it: shipshape watch ${config.service}/${options.env}`);
      }
      throw err;
    }
    const link = webUiLink(temporal.namespace, handle.workflowId);
    if (options.json) {
      ctx.stdout(
        JSON.stringify({ workflowId: handle.workflowId, runId: handle.firstExecutionRunId, webUi: link }),
      );
    } else {
      ctx.stdout(
        `✓ deploying ${config.service} ${options.version} to ${options.env}: ${handle.workflowId} (run ${handle.firstExecutionRunId})`,
      );
      ctx.stdout(`  watch: shipshape watch ${config.service}/${options.env}    Web UI: ${link}`);
    }
    ctx.exitCode = EXIT_OK;
    if (options.watch) {
      ctx.exitCode = await watchDeployment(ctx, temporal.client, handle, temporal.namespace, {
        tty: Boolean(process.stdout.isTTY) && !options.json,
        json: options.json,
      });
    }
  } finally {
    await temporal.close();
  }
}

export function registerDeploy(program: Command, ctx: CliContext): void {
  program
    .command("deploy")
    .description("start a deployment of a version through the release plan in the config")
    .requiredOption("--service <name>", "the service (must match the config)")
    .requiredOption("--version <version>", "the version to deploy")
    .option("--env <environment>", "target environment", "production")
    .option("--config <file>", "release config", "shipshape.yaml")
    .option("--artifact <ref>", "what is deployed (image, tarball, commit); defaults to the version")
    .option("--reason <text>", "why (recorded)")
    .option("--as <name>", "who is deploying (recorded); defaults to $SHIPSHAPE_USER or $USER")
    .option("--watch", "stay and watch; exit with the deployment's outcome")
    .option("--json", "print the started deployment as JSON")
    .option("--task-queue <name>", "worker task queue (advanced)")
    .addHelpText(
      "after",
      '\nExample:\n  shipshape deploy --service shop --version v2 --env production --config examples/shop/shipshape.yaml --reason "new checkout" --watch',
    )
    .action((options: DeployOptions) => deploy(ctx, options));

  program
    .command("rollback")
    .description("redeploy the last good version through the same safe path (not a shortcut)")
    .requiredOption("--service <name>", "the service")
    .option("--env <environment>", "environment", "production")
    .option("--config <file>", "release config", "shipshape.yaml")
    .option("--reason <text>", "why (recorded)", "rollback to the last good version")
    .option("--as <name>", "who (recorded)")
    .option("--watch", "stay and watch")
    .option("--json", "print the started deployment as JSON")
    .option("--task-queue <name>", "worker task queue (advanced)")
    .addHelpText(
      "after",
      "\nExample:\n  shipshape rollback --service shop --env production --config examples/shop/shipshape.yaml --watch",
    )
    .action(async (options: Omit<DeployOptions, "version">) => {
      const temporal = await connectTemporal();
      let target: string | undefined;
      let current: string | undefined;
      try {
        const rows = await listDeployments(
          temporal.client,
          { service: options.service, environment: options.env, closedOnly: true },
          200,
        );
        const promoted = rows.filter((r) => r.outcome === "promoted");
        current = promoted[0]?.version;
        target = promoted.find((r) => r.version !== current)?.version;
      } finally {
        await temporal.close();
      }
      if (!target) {
        throw new CliError(
          `no earlier good version of ${options.service} in ${options.env} to roll back to (current: ${current ?? "none promoted yet"}) — \`shipshape history --service ${options.service}\` lists what ran`,
        );
      }
      ctx.stdout(
        `rolling ${options.service} ${options.env} back from ${current} to ${target} through the normal release plan`,
      );
      await deploy(ctx, { ...options, version: target });
    });
}
