import { z } from "zod";

/**
 * Walking-skeleton contracts. The full deployment workflow replaces
 * the input with the release plan; these schemas stay the boundary checks of
 * the skeleton activities.
 */
export const EnvironmentRef = z.object({
  deploymentId: z.string().min(1),
  service: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, "lowercase letters, digits and dashes"),
  environment: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, "lowercase letters, digits and dashes"),
  version: z.string().min(1),
});
export type EnvironmentRef = z.infer<typeof EnvironmentRef>;

export const SkeletonDeploymentInput = EnvironmentRef.extend({
  requestedBy: z.string().min(1),
  /** Test knobs: keep `pulumi up` busy for this long; fail after the database step. */
  holdProvisionMs: z.number().int().min(0).default(0),
  failAfterDatabase: z.boolean().default(false),
});
export type SkeletonDeploymentInput = z.input<typeof SkeletonDeploymentInput>;

export const ProvisionResult = z.object({
  stackName: z.string(),
  outputs: z.record(z.string(), z.unknown()),
  clearedLocks: z.number(),
  clearedPendingOperations: z.number(),
});
export type ProvisionResult = z.infer<typeof ProvisionResult>;

export type SkeletonOutcome = "promoted" | "rolled-back" | "needs-attention";

export interface SkeletonResult {
  outcome: SkeletonOutcome;
  reason?: string;
  compensations: string[];
}

/** Stack names must be stable per (service, environment, version): idempotency hangs on them. */
export function stackNameFor(ref: Pick<EnvironmentRef, "service" | "environment" | "version">): string {
  return `${ref.service}-${ref.environment}-${ref.version}`.toLowerCase().replace(/[^a-z0-9-]/g, "-");
}
