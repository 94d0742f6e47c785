import type { EnvironmentRef, ProvisionResult } from "../deployment/skeleton-types";
import type { Progress } from "./common";

/** The walking skeleton's environment lifecycle (infra/skeleton): a marker stack per environment. */
export interface EnvironmentInfraDriver {
  provision(ref: EnvironmentRef, holdMs: number, progress: Progress): Promise<ProvisionResult>;
  /** Must be a no-op when the environment is already gone. */
  destroy(ref: EnvironmentRef, progress: Progress): Promise<{ existed: boolean }>;
}
