// What `shipshape deploy` and `shipshape rollback` do (declared in
// cli/commands/deploy.ts): start a deployment from a validated release config.
// A bad config never starts one (invariant 7): the `validate` report is
// printed and the exit code is 2.

import path from "node:path";
import { listDeployments } from "../../client/deployments-query";
import { DeploymentAlreadyRunningError, startDeployment } from "../../client/start";
import { connectTemporal, webUiLink } from "../../client/temporal-client";
import { formatProblems, loadReleaseConfig, suggest } from "../../lib/config";
import type { DeployOptions } from "../commands/deploy";
import { type CliContext, EXIT_OK, EXIT_USAGE } from "../context";
import { CliError } from "../errors";
import { defaultActor } from "./actor";
import { watchDeployment } from "./status";

/**
 * The release config, checked the way a deployment needs it: valid, of this
 * service, with this environment. Null (report printed, exit 2) when invalid.
 */
async function deployableConfig(ctx: CliContext, options: DeployOptions) {
  const configPath = path.resolve(options.config);
  const loaded = await loadReleaseConfig(configPath);
  if (!loaded.ok) {
    ctx.stderr(formatProblems(loaded.problems, { color: ctx.color }));
    ctx.stderr(`✗ not deploying: ${configPath} is invalid (nothing was started)`);
    ctx.exitCode = EXIT_USAGE;
    return null;
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
  return { config, digest: loaded.digest, configPath };
}

export async function deploy(ctx: CliContext, options: DeployOptions): Promise<void> {
  const checked = await deployableConfig(ctx, options);
  if (!checked) return;
  const { config, configPath } = checked;
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
          configDigest: checked.digest,
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

/** Redeploys the last promoted version before the current one, through the normal release plan. */
export async function rollback(ctx: CliContext, options: Omit<DeployOptions, "version">): Promise<void> {
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
}
