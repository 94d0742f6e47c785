// Per-environment keys of drift detection and the promotion path (issue 23):
//   onDrift   what a deployment does when blue no longer matches what its last
//             promoted deployment recorded (`shipshape drift` shows the same list);
//   requires  which environment must have promoted the same artifact and
//             migrations first (lib/config/promotion-paths.ts checks the names).
// PURE: imported by schema.ts, so by workflow code.
import { z } from "zod";

export const ON_DRIFT = ["warn", "fail"] as const;
export type OnDrift = (typeof ON_DRIFT)[number];

/**
 * Default `warn`: drift detection is new, and an environment that deployed
 * yesterday keeps deploying after an upgrade (the drift is recorded in the
 * status and the decision log). Production should say `fail`: deploying over
 * a blue that is not what was promoted means the rollback target is unknown.
 */
export const OnDriftSchema = z
  .enum(ON_DRIFT)
  .meta({
    description:
      "Before provisioning green, blue is compared with what its last promoted deployment recorded (`shipshape drift`): fail refuses the deployment, warn records the differences and goes on. Default warn",
  })
  // No zod default: the normalized config (and its digest) of an environment
  // that does not set it stays what it was; readers apply `?? "warn"`.
  .optional();

export const RequiresSchema = z
  .strictObject({
    promotedIn: z
      .string()
      .regex(/^[a-z][a-z0-9-]*$/)
      .meta({
        description:
          "Environment (of this config) where the same artifact digest and the same migrations must have been promoted before a deployment here is accepted",
      }),
  })
  .meta({ description: "What must have happened elsewhere before a deployment to this environment" });

/** The keys EnvironmentSchema spreads in (one line there). */
export const driftEnvironmentFields = {
  onDrift: OnDriftSchema,
  requires: RequiresSchema.optional(),
};
