import { ApplicationFailure, log } from "@temporalio/activity";
import { resolveEnvRefs } from "../lib/config/env-refs";
import { ActivityKey, FAILURE_TYPES, type GreenEnvironment } from "../lib/deployment/types";
import type { RunSpec } from "../lib/drivers/infra-driver";
import { artifactFailure, type DeploymentDeps, targetOf } from "./deployment-deps";
import { withHeartbeat } from "./heartbeat";

export interface ProvisionGreenInput {
  key: ActivityKey;
  run: RunSpec;
  /** The deployment's artifact; staged again here when this worker has not staged it (idempotent). */
  artifact: string;
  /** The digest preflight recorded; other content is refused. */
  artifactDigest: string | null;
}

/**
 * Green/blue environment lifecycle on the environment's target. Idempotent:
 * the target keys stacks by service-environment-version, provision is an
 * upsert and destroy a no-op when the stack is gone. Long: heartbeats with the
 * target's progress lines and honours cancellation through the heartbeat.
 */
/** Names of run.env whose value as written holds a `${env:…}` reference (their resolved values are secrets). */
function envRefNames(env: Record<string, unknown> | undefined): string[] {
  return Object.entries(env ?? {})
    .filter(([, v]) => typeof v === "string" && /\$\{env:/.test(v))
    .map(([k]) => k)
    .sort();
}

export function createEnvironmentActivities(deps: DeploymentDeps) {
  return {
    async provisionGreen(input: ProvisionGreenInput): Promise<GreenEnvironment & { artifactDigest: string }> {
      const key = ActivityKey.parse(input.key);
      const resolved = resolveEnvRefs(input.run, deps.env);
      if (!resolved.ok) {
        throw ApplicationFailure.nonRetryable(
          `run.env: ${resolved.problems.map((p) => p.message).join("; ")}`,
          FAILURE_TYPES.invalidConfig,
        );
      }
      if (!input.artifact) {
        throw ApplicationFailure.nonRetryable(
          "provisionGreen needs the deployment's artifact",
          FAILURE_TYPES.invalidInput,
        );
      }
      const target = targetOf(deps, key);
      const staged = await target.artifacts
        .stage(key, input.artifact, input.artifactDigest ?? null)
        .catch((err) => {
          throw artifactFailure(err);
        });
      const out = await withHeartbeat((progress, signal) =>
        target.infra.provisionEnvironment(
          key,
          {
            run: resolved.config,
            env: resolved.config.env,
            secretNames: envRefNames(input.run.env),
            artifact: staged,
          },
          progress,
          signal,
        ),
      );
      return {
        stackName: out.stackName,
        instances: out.instances.map((i) => i.url),
        artifactDigest: staged.digest,
      };
    },
    /**
     * Compensation: this deployment's environment goes. Never the one users are
     * on: a version the router serves as blue has the same stack (the same
     * names) as a green of that version, so it is kept, and said so.
     */
    async destroyGreen(input: { key: ActivityKey }): Promise<{ existed: boolean; keptServing?: boolean }> {
      const key = ActivityKey.parse(input.key);
      const target = targetOf(deps, key);
      const routes = await target.router.getRoutes({ service: key.service, environment: key.environment });
      if (routes.backends.blue?.version === key.version) {
        log.warn(
          `not destroying ${key.version}: it is the version serving ${key.service}/${key.environment}`,
        );
        return { existed: true, keptServing: true };
      }
      return withHeartbeat((progress) => target.infra.destroyEnvironment(key, progress));
    },
    /** After promotion and the keep window: the previous version's environment goes. */
    async decommissionBlue(input: { key: ActivityKey; blueVersion: string }): Promise<{ existed: boolean }> {
      const key = ActivityKey.parse(input.key);
      // The version just promoted is never "the previous one" (a redeploy of the serving version is refused).
      if (input.blueVersion === key.version) return { existed: true };
      return withHeartbeat((progress) =>
        targetOf(deps, key).infra.destroyEnvironment({ ...key, version: input.blueVersion }, progress),
      );
    },
  };
}
