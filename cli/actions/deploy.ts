// What `shipshape deploy` and `shipshape rollback` do (declared in
// cli/commands/deploy.ts): start a deployment from a validated release config,
// its migrations and the artifact (client/release-input.ts). A bad config
// never starts one (invariant 7): the `validate` report is printed and the
// exit code is 2.

import path from "node:path";
import { promotedRows } from "../../client/promoted-deployments";
import { PromotionRequiredError } from "../../client/promotion-path";
import { buildDeploymentInput, ReleaseInputError, type ReleaseRequest } from "../../client/release-input";
import { DeploymentAlreadyRunningError, startDeployment } from "../../client/start";
import { connectTemporal, webUiLink } from "../../client/temporal-client";
import { formatProblems } from "../../lib/config";
import { type DeploymentInput, inputLengthProblems } from "../../lib/deployment/types";
import type { DeployOptions } from "../commands/deploy";
import { type CliContext, EXIT_OK, EXIT_USAGE } from "../context";
import { CliError } from "../errors";
import { defaultActor } from "./actor";
import { signStartForCli } from "./sign-start";
import { watchDeployment } from "./status";

/** The deployment input of a request, or the exit code 2 with what is wrong (nothing started). */
async function inputFor(ctx: CliContext, req: ReleaseRequest): Promise<DeploymentInput | null> {
  const tooLong = inputLengthProblems({
    version: req.version,
    requestedBy: req.requestedBy,
    reason: req.reason,
  });
  if (tooLong.length > 0) throw new CliError(`not deploying: ${tooLong.join("; ")}`);
  try {
    return await buildDeploymentInput(req);
  } catch (err) {
    if (!(err instanceof ReleaseInputError)) throw err;
    if (err.problems) ctx.stderr(formatProblems(err.problems, { color: ctx.color }));
    ctx.stderr(`✗ ${err.message}`);
    ctx.exitCode = EXIT_USAGE;
    return null;
  }
}

/**
 * The CLI's preflight against history: the version the last promoted
 * deployment left serving. Redeploying it would provision, attach and then
 * decommission the very stack users are on (same version, same names), so it
 * is refused before anything starts (exit 2). Visibility can lag a just-closed
 * deployment; the workflow's preflight checks the router itself and refuses too.
 */
async function refuseServingVersion(
  ctx: CliContext,
  client: Awaited<ReturnType<typeof connectTemporal>>["client"],
  input: DeploymentInput,
): Promise<boolean> {
  // The last promotion serves (a rollback returns to it), even while its run sends its last notifications.
  const serving = (await promotedRows(client, input.service, input.environment))[0];
  if (!serving || serving.version !== input.version) return false;
  const sameArtifact =
    !input.artifactDigest || !serving.artifactDigest || serving.artifactDigest === input.artifactDigest;
  ctx.stderr(
    `✗ ${input.service} ${input.version} is already serving ${input.environment} ` +
      `(${serving.workflowId}${serving.artifactDigest ? `, artifact ${serving.artifactDigest}` : ""}): nothing to deploy, nothing started.` +
      (sameArtifact
        ? "\n  To roll the same code out again, deploy it under a new version label."
        : `\n  The artifact given (${input.artifactDigest}) differs: a version label names one artifact; deploy it under a new version label.`),
  );
  ctx.exitCode = EXIT_USAGE;
  return true;
}

async function start(ctx: CliContext, unsigned: DeploymentInput, options: DeployOptions): Promise<void> {
  // Signed environments: the requester signs what the input carries (artifact and migrations digests).
  const input = await signStartForCli({ ...unsigned, configPath: path.resolve(options.config) }, options);
  const temporal = await connectTemporal();
  try {
    if (await refuseServingVersion(ctx, temporal.client, input)) return;
    let handle: Awaited<ReturnType<typeof startDeployment>>;
    try {
      handle = await startDeployment(temporal.client, input, {
        taskQueue: options.taskQueue,
        onWait: (message) => ctx.stderr(message),
      });
    } catch (err) {
      if (err instanceof PromotionRequiredError) throw new CliError(err.message);
      if (err instanceof DeploymentAlreadyRunningError) {
        throw new CliError(
          `${err.message}\n  watch it: shipshape watch ${input.service}/${input.environment}`,
        );
      }
      throw err;
    }
    const link = webUiLink(temporal.namespace, handle.workflowId);
    if (options.json) {
      ctx.stdout(
        JSON.stringify({
          workflowId: handle.workflowId,
          runId: handle.firstExecutionRunId,
          webUi: link,
          artifact: input.artifact,
          artifactDigest: input.artifactDigest ?? null,
        }),
      );
    } else {
      ctx.stdout(
        `✓ deploying ${input.service} ${input.version} to ${input.environment}: ${handle.workflowId} (run ${handle.firstExecutionRunId})`,
      );
      ctx.stdout(`  artifact ${input.artifact}${input.artifactDigest ? ` (${input.artifactDigest})` : ""}`);
      ctx.stdout(`  watch: shipshape watch ${input.service}/${input.environment}    Web UI: ${link}`);
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

export async function deploy(ctx: CliContext, options: DeployOptions): Promise<void> {
  const input = await inputFor(ctx, {
    configPath: options.config,
    service: options.service,
    environment: options.env,
    version: options.version,
    ...(options.artifact ? { artifact: options.artifact } : {}),
    requestedBy: options.as ?? defaultActor(),
    reason: options.reason ?? "",
  });
  if (input) await start(ctx, input, options);
}

/** The last good version before the current one, with the artifact it was deployed from. */
async function lastGood(options: Omit<DeployOptions, "version">) {
  const temporal = await connectTemporal();
  try {
    const promoted = await promotedRows(temporal.client, options.service, options.env);
    const current = promoted[0]?.version;
    return { current, target: promoted.find((r) => r.version !== current) };
  } finally {
    await temporal.close();
  }
}

/** Redeploys the last promoted version before the current one, from its artifact, through the normal release plan. */
export async function rollback(ctx: CliContext, options: Omit<DeployOptions, "version">): Promise<void> {
  const { current, target } = await lastGood(options);
  if (!target) {
    throw new CliError(
      `no earlier good version of ${options.service} in ${options.env} to roll back to (current: ${current ?? "none promoted yet"}) — \`shipshape history --service ${options.service}\` lists what ran`,
    );
  }
  if (!target.artifact && !options.artifact) {
    throw new CliError(
      `${target.workflowId} (${target.version}) does not record its artifact (it predates artifact records); pass --artifact`,
    );
  }
  ctx.stdout(
    `rolling ${options.service} ${options.env} back from ${current} to ${target.version} through the normal release plan`,
  );
  const input = await inputFor(ctx, {
    configPath: options.config,
    service: options.service,
    environment: options.env,
    version: target.version,
    artifact: options.artifact ?? target.artifact ?? "",
    // The same release: the local target runs the release it staged then, even when the artifact moved since.
    ...(!options.artifact && target.artifactDigest ? { artifactDigest: target.artifactDigest } : {}),
    requestedBy: options.as ?? defaultActor(),
    reason: options.reason ?? "",
  });
  if (!input) return;
  // The schema is not rolled back: completed migrations stay (expand/contract only ever moves forward),
  // so the earlier version runs on today's schema and the deployment carries no migrations.
  const { migrations: _forward, ...redeploy } = input;
  if (_forward) ctx.stdout("  migrations are not redeployed: the database keeps its current schema");
  await start(ctx, redeploy, { ...options, version: target.version });
}
