/**
 * What a deployment run carries over when it continues as new during a long
 * bake (workflows/deployment/continuation.ts): the schema the next run checks
 * it with, and the memo keys the CLI reads to show the chain of runs as one
 * deployment (client/deployments-query.ts). Pure zod.
 */
import { z } from "zod";
import { AnalysisStateSchema } from "../analysis/types";
import { NotificationSchema } from "../notifications/payload";

/** The compensations the forward path registers, by name (workflows/deployment/compensations.ts). */
export const COMPENSATION_NAMES = ["destroyGreen", "rollbackSchema", "restoreTraffic"] as const;
export type CompensationName = (typeof COMPENSATION_NAMES)[number];

/** The parts of the carried status checked here; the workflow's DeploymentStatus is the full type. */
interface CarriedStatusShape {
  phase: string;
  phases: unknown[];
  decisions: unknown[];
  compensations: Array<{ name: string }>;
}

/** Where a continued run picks up: inside the bake of a traffic step or of the post-promotion watch. */
const BakeProgress = { bakedMs: z.number().nonnegative(), measured: z.boolean() };
export const ResumePoint = z.discriminatedUnion("stage", [
  /** `step`: the traffic step's index (1..n), as the status shows it. */
  z.object({ stage: z.literal("traffic-step"), step: z.number().int().positive(), ...BakeProgress }),
  /** `promotedAtMs`: when traffic reached 100% (the keep window of runs counted by the clock). */
  z.object({ stage: z.literal("post-promotion-watch"), promotedAtMs: z.number(), ...BakeProgress }),
]);
export type ResumePoint = z.infer<typeof ResumePoint>;

/** A bake point without its stage: what the bake loop knows. */
export type BakeProgress = { bakedMs: number; measured: boolean };

const Request = z.object({ by: z.string(), reason: z.string() });

/**
 * The status is the workflow's own earlier answer: checked structurally, kept
 * as it was (zod would drop the fields of statuses newer than this schema).
 */
const CarriedStatus = z.custom<CarriedStatusShape>((v) => {
  if (typeof v !== "object" || v === null) return false;
  const s = v as Record<string, unknown>;
  return (
    typeof s.phase === "string" &&
    typeof s.step === "object" &&
    Array.isArray(s.phases) &&
    Array.isArray(s.decisions) &&
    Array.isArray(s.compensations) &&
    typeof s.analysis === "object"
  );
}, "status must be a deployment status");

export const ContinuationSchema = z.object({
  resumeAt: ResumePoint,
  status: CarriedStatus,
  analysis: AnalysisStateSchema,
  /** Registered compensations, in registration order (their records are in the status). */
  saga: z.array(z.enum(COMPENSATION_NAMES)),
  green: z.object({ stackName: z.string(), instances: z.array(z.string()) }).nullable(),
  blue: z.object({ version: z.string(), instances: z.array(z.string()) }).nullable(),
  migration: z.string().nullable(),
  servingBefore: z.object({ version: z.string(), artifactDigest: z.string().nullable() }).nullable(),
  baselineSkipNoted: z.boolean(),
  promoteRequest: Request.nullable(),
  /** Which released behaviours the first run had (its patches), so the chain keeps them. */
  behaviour: z.object({ bakeByTimers: z.boolean(), signedDecisions: z.boolean() }),
  /** Spent nonces and when they were signed: a replayed signed decision stays refused. */
  usedNonces: z.array(z.tuple([z.string(), z.number()])),
  /**
   * Outbox runs (workflows/deployment/notifications.ts): the next event's
   * sequence number and the events not yet delivered, by sink (-1: the worker log).
   */
  notifications: z
    .object({
      nextSequence: z.number().int().positive(),
      pending: z.array(z.object({ sink: z.number().int().min(-1), payload: NotificationSchema })),
    })
    .optional(),
  chain: z.object({
    /** Runs so far, this one included. */
    runs: z.number().int().min(2),
    firstRunId: z.string(),
    startedAtMs: z.number(),
  }),
});
export type Continuation = z.infer<typeof ContinuationSchema>;

/** Memo keys a continued run adds (client/deployments-query.ts reads them). */
export const CHAIN_MEMO = { startedAtMs: "deploymentStartedAtMs", runs: "deploymentRuns" } as const;
