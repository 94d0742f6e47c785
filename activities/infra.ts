import { Context } from "@temporalio/activity";
import type { SkeletonInfraDriver } from "../infra/skeleton/driver";
import { EnvironmentRef, type ProvisionResult } from "../lib/deployment/skeleton-types";
import { withHeartbeat } from "./heartbeat";

export interface InfraDeps {
  infra: SkeletonInfraDriver;
}

/** Environment lifecycle activities. Idempotent: keyed by the stack name (service-environment-version). */
export function createInfraActivities(deps: InfraDeps) {
  return {
    async provisionGreenEnvironment(input: EnvironmentRef & { holdMs: number }): Promise<ProvisionResult> {
      const ref = EnvironmentRef.parse(input);
      Context.current().log.info("provisioning green", { attempt: Context.current().info.attempt });
      return withHeartbeat((progress) => deps.infra.provision(ref, input.holdMs ?? 0, progress));
    },
    async destroyGreenEnvironment(input: EnvironmentRef): Promise<{ existed: boolean }> {
      const ref = EnvironmentRef.parse(input);
      return withHeartbeat((progress) => deps.infra.destroy(ref, progress));
    },
  };
}
