import { Context } from "@temporalio/activity";
import { EnvironmentRef, type ProvisionResult } from "../lib/deployment/skeleton-types";
import { withHeartbeat } from "./heartbeat";

/** One infra target's environment lifecycle (the skeleton marker today; infra/local and infra/aws next). */
export interface EnvironmentInfraDriver {
  provision(
    ref: EnvironmentRef,
    holdMs: number,
    progress: (message: string) => void,
  ): Promise<ProvisionResult>;
  /** Must be a no-op when the environment is already gone. */
  destroy(ref: EnvironmentRef, progress: (message: string) => void): Promise<{ existed: boolean }>;
}

export interface InfraDeps {
  infra: EnvironmentInfraDriver;
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
