import fs from "node:fs";
import path from "node:path";
import { ApplicationFailure } from "@temporalio/activity";
import { isInside } from "../lib/config/contained-path";
import { configDigest } from "../lib/config/digest";
import { resolveEnvRefs } from "../lib/config/env-refs";
import { formatProblems } from "../lib/config/format";
import { preflightReleaseConfig } from "../lib/config/preflight";
import { boundOutput } from "../lib/config/redact";
import type { ReleaseConfig } from "../lib/config/schema";
import { ActivityKey, ALREADY_SERVING, DRIFT_DETECTED, FAILURE_TYPES } from "../lib/deployment/types";
import { type DriftDifference, formatDifferences } from "../lib/drift/differences";
import type { Target } from "../lib/drivers/target";
import { InstanceUserError, instanceUserFor } from "../lib/runtime/instance-user";
import { artifactFailure, type DeploymentDeps, targetOf } from "./deployment-deps";
import { inspectDrift } from "./drift";
import { withHeartbeat } from "./heartbeat";

export interface PreflightInput {
  key: ActivityKey;
  artifact: string;
  /** The digest the requester saw (the CLI takes it at deploy time); other content is refused. */
  artifactDigest?: string;
  config: ReleaseConfig;
  configPath?: string;
}

export interface ServingVersion {
  version: string;
  artifactDigest: string | null;
}

export interface PreflightResult {
  digest: string;
  warnings: string[];
  /** The content digest of the artifact as staged on the target. */
  artifactDigest: string;
  /** The URL users hit (null when the target does not know it yet). */
  endpoint: string | null;
  /** What users are on before this deployment (null: nothing is serving). */
  serving: ServingVersion | null;
  /** Blue differs from what was promoted and the environment says onDrift: warn (absent: no drift). */
  drift?: PreflightDrift;
}

export interface PreflightDrift {
  version: string;
  onDrift: "warn" | "fail";
  differences: DriftDifference[];
}

/**
 * Re-validates the plan before any deployment side effect: the file (when
 * given: schema, semantics, app-config gate, env refs), the
 * service/environment match, every `${env:…}` reference resolvable on this
 * worker; then stages the artifact on the environment's target (checked,
 * copied or unpacked into its immutable release, digest recorded; a
 * different artifact under an existing version label is refused). Staging is
 * idempotent and is kept for redeploys, so it needs no compensation.
 * Failures are non-retryable (InvalidConfig, MissingArtifact,
 * InvalidArtifact): retrying cannot fix a typo.
 */
export function createPreflightActivities(deps: DeploymentDeps) {
  return {
    async preflightDeployment(input: PreflightInput): Promise<PreflightResult> {
      const key = ActivityKey.parse(input.key);
      const { digest, warnings } = await checkConfig(key, input, deps.env);
      const target = targetOf(deps, key);
      const scope = { service: key.service, environment: key.environment };
      const blue = (await target.router.getRoutes(scope)).backends.blue;
      const servingDigest = blue ? await target.artifacts.digestOf(key.service, blue.version) : null;
      if (blue && blue.version === key.version) {
        // Deploying what users are on would provision, attach and then decommission or destroy
        // the stack it is running from (same version, same names): refused before any effect.
        throw ApplicationFailure.nonRetryable(
          `${key.version} is already serving ${key.service}/${key.environment} (artifact ${servingDigest ?? "digest unknown"}): ` +
            "nothing to deploy, nothing was started or changed. To roll the same code out again, deploy it under a new version label",
          ALREADY_SERVING,
        );
      }
      const drift = blue ? await checkBlueDrift(target, key, input.config, blue.version) : undefined;
      const staged = await withHeartbeat((progress) => {
        progress(`staging ${input.artifact}`);
        return target.artifacts.stage(key, input.artifact, input.artifactDigest ?? null);
      }).catch((err) => {
        throw artifactFailure(err);
      });
      return {
        digest,
        warnings,
        artifactDigest: staged.digest,
        endpoint: await target.endpoint(scope),
        serving: blue ? { version: blue.version, artifactDigest: servingDigest } : null,
        ...(drift ? { drift } : {}),
      };
    },
  };
}

/**
 * Blue against what its promotion left (activities/drift.ts), before green is
 * provisioned: `onDrift: fail` refuses the deployment (non-retryable, with
 * every difference), `warn` returns them for the status and decision log. A
 * check that cannot run is a difference too: under `fail` it refuses (and is
 * retried like any transient failure), under `warn` it is recorded.
 */
async function checkBlueDrift(
  target: Target,
  key: ActivityKey,
  config: ReleaseConfig,
  blueVersion: string,
): Promise<PreflightDrift | undefined> {
  const onDrift = config.environments[key.environment]?.onDrift ?? "warn";
  const scope = { service: key.service, environment: key.environment };
  let differences: DriftDifference[];
  try {
    const report = await withHeartbeat((progress) => inspectDrift(target, scope, undefined, progress));
    differences = report.differences;
  } catch (err) {
    if (onDrift === "fail") throw err;
    const message = err instanceof Error ? err.message : String(err);
    differences = [
      { what: "drift check", expected: "completed", actual: `failed: ${message.slice(0, 500)}` },
    ];
  }
  if (differences.length === 0) return undefined;
  if (onDrift === "fail") {
    throw ApplicationFailure.nonRetryable(
      boundOutput(
        `${key.service}/${key.environment} has drifted from what its last promotion (${blueVersion}) left running, ` +
          `and environments.${key.environment}.onDrift is fail: nothing was provisioned. ${formatDifferences(differences)}. ` +
          `See \`shipshape drift ${key.service}/${key.environment}\`; restore what was promoted (or deploy with onDrift: warn)`,
        60,
        8000,
      ),
      DRIFT_DETECTED,
    );
  }
  return { version: blueVersion, onDrift, differences };
}

/**
 * The config file named in the workflow input is read on this worker: only
 * inside the folders the worker serves (SHIPSHAPE_CONFIG_ROOTS, path-list;
 * default its working folder), with symlinks resolved, so a start request
 * cannot make the worker read and report on any file it can open.
 */
function refuseConfigPathOutsideRoots(configPath: string, env: Record<string, string | undefined>): void {
  const roots = (env.SHIPSHAPE_CONFIG_ROOTS ?? process.cwd()).split(path.delimiter).filter(Boolean);
  let real: string;
  try {
    real = fs.realpathSync(configPath);
  } catch {
    real = path.resolve(configPath);
  }
  const inside = roots.some((r) => {
    try {
      return isInside(fs.realpathSync(r), real);
    } catch {
      return false;
    }
  });
  if (!inside || !/\.ya?ml$/.test(real)) {
    throw ApplicationFailure.nonRetryable(
      `config path ${configPath} is not a .yaml file inside the folders this worker serves (${roots.join(", ")}); set SHIPSHAPE_CONFIG_ROOTS on the worker`,
      FAILURE_TYPES.invalidConfig,
    );
  }
}

function commandUserOf(env: DeploymentDeps["env"]): { commandUser?: { uid: number; gid: number } } {
  try {
    const user = instanceUserFor(env);
    return user ? { commandUser: { uid: user.uid, gid: user.gid } } : {};
  } catch (err) {
    if (err instanceof InstanceUserError)
      throw ApplicationFailure.nonRetryable(err.message, FAILURE_TYPES.invalidConfig);
    throw err;
  }
}

async function checkConfig(
  key: ActivityKey,
  input: PreflightInput,
  env: DeploymentDeps["env"],
): Promise<{ digest: string; warnings: string[] }> {
  const warnings: string[] = [];
  let digest = configDigest(input.config);
  if (input.configPath) {
    refuseConfigPathOutsideRoots(input.configPath, env);
    // The check commands are the release's code: on a root worker, run as its instance user.
    const r = await preflightReleaseConfig(input.configPath, env, commandUserOf(env));
    if (!r.ok) {
      throw ApplicationFailure.nonRetryable(
        boundOutput(`invalid release config:\n${formatProblems(r.problems)}`, 60, 8000),
        FAILURE_TYPES.invalidConfig,
      );
    }
    digest = r.digest;
    warnings.push(...r.warnings.map((w) => w.message));
  }
  const problems: string[] = [];
  if (input.config.service !== key.service) {
    problems.push(`the config is for service "${input.config.service}", not "${key.service}"`);
  }
  if (!input.config.environments[key.environment]) {
    problems.push(
      `environment "${key.environment}" is not in the config (known: ${Object.keys(input.config.environments).join(", ")})`,
    );
  }
  const resolved = resolveEnvRefs(input.config, env);
  if (!resolved.ok) problems.push(...resolved.problems.map((p) => p.message));
  if (problems.length > 0) {
    throw ApplicationFailure.nonRetryable(
      `invalid release config: ${problems.join("; ")}`,
      FAILURE_TYPES.invalidConfig,
    );
  }
  return { digest, warnings };
}
