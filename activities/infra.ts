import { ApplicationFailure, Context } from "@temporalio/activity";
import { resolveEnvRefs } from "../lib/config/env-refs";
import { EnvironmentRef, type ProvisionResult } from "../lib/deployment/skeleton-types";
import { ActivityKey, FAILURE_TYPES, type GreenEnvironment } from "../lib/deployment/types";
import type { RunSpec } from "../lib/drivers/infra-driver";
import type { EnvironmentInfraDriver } from "../lib/drivers/skeleton-infra-driver";
import { type DeploymentDeps, need } from "./deployment-deps";
import { withHeartbeat } from "./heartbeat";

export interface InfraDeps {
  infra: EnvironmentInfraDriver;
}

/** Environment lifecycle activities. Idempotent: keyed by the stack name (service-environment-version). */
export function createInfraActivities(deps: Partial<InfraDeps>) {
  const infra = (): EnvironmentInfraDriver => {
    if (!deps.infra) {
      throw ApplicationFailure.nonRetryable(
        "this worker has no skeleton infra driver",
        FAILURE_TYPES.driverNotConfigured,
      );
    }
    return deps.infra;
  };
  return {
    async provisionGreenEnvironment(input: EnvironmentRef & { holdMs: number }): Promise<ProvisionResult> {
      const ref = EnvironmentRef.parse(input);
      Context.current().log.info("provisioning green", { attempt: Context.current().info.attempt });
      return withHeartbeat((progress) => infra().provision(ref, input.holdMs ?? 0, progress));
    },
    async destroyGreenEnvironment(input: EnvironmentRef): Promise<{ existed: boolean }> {
      const ref = EnvironmentRef.parse(input);
      return withHeartbeat((progress) => infra().destroy(ref, progress));
    },
  };
}

// ---------------------------------------------------------------------------- DeploymentWorkflow

/**
 * Green/blue environment lifecycle on the configured infra target. Idempotent:
 * the target keys stacks by service-environment-version, provision is an
 * upsert and destroy a no-op when the stack is gone. Long: heartbeats with the
 * target's progress lines and honours cancellation through the heartbeat.
 */
export function createEnvironmentActivities(deps: Partial<DeploymentDeps>) {
  return {
    async provisionGreen(input: { key: ActivityKey; run: RunSpec }): Promise<GreenEnvironment> {
      const key = ActivityKey.parse(input.key);
      const resolved = resolveEnvRefs(input.run, deps.env ?? process.env);
      if (!resolved.ok) {
        throw ApplicationFailure.nonRetryable(
          `run.env: ${resolved.problems.map((p) => p.message).join("; ")}`,
          FAILURE_TYPES.invalidConfig,
        );
      }
      const env = resolved.config.env;
      const out = await withHeartbeat((progress) =>
        need(deps, "infraTarget").provisionEnvironment(key, { run: resolved.config, env }, progress),
      );
      return { stackName: out.stackName, instances: out.instances.map((i) => i.url) };
    },
    async destroyGreen(input: { key: ActivityKey }): Promise<{ existed: boolean }> {
      const key = ActivityKey.parse(input.key);
      return withHeartbeat((progress) => need(deps, "infraTarget").destroyEnvironment(key, progress));
    },
    /** After promotion and the keep window: the previous version's environment goes. */
    async decommissionBlue(input: { key: ActivityKey; blueVersion: string }): Promise<{ existed: boolean }> {
      const key = ActivityKey.parse(input.key);
      return withHeartbeat((progress) =>
        need(deps, "infraTarget").destroyEnvironment({ ...key, version: input.blueVersion }, progress),
      );
    },
  };
}
