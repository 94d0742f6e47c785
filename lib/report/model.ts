/**
 * The report model: everything the HTML report of one deployment shows, built
 * from its history by extract.ts and drawn by html.ts. Plain JSON (it is
 * embedded in the page as data), times in ms since the epoch.
 */
import { z } from "zod";
import { UnitSchema, VerdictSchema } from "../analysis/types";
import { PHASES } from "../deployment/types";

const Ms = z.number();

export const WeightPointSchema = z.object({
  atMs: Ms,
  green: z.number(),
  blue: z.number(),
  /** What set it: "step 1 (1%)", "traffic restored to v2", "routes finalized". */
  cause: z.string(),
});

/** One analysis interval of one metric: the numbers its verdict rests on. */
export const MetricPointSchema = z.object({
  atMs: Ms,
  stepIndex: z.number().int(),
  weightPercent: z.number(),
  /** Green's value (the median of its samples for Mann-Whitney); null: no data. */
  green: z.number().nullable(),
  blue: z.number().nullable(),
  /** The value green must not exceed / fall below at this interval (relative judges move with blue). */
  limitHigh: z.number().nullable(),
  limitLow: z.number().nullable(),
  verdict: VerdictSchema,
  reason: z.string(),
});

export const MetricSeriesSchema = z.object({
  name: z.string(),
  unit: UnitSchema,
  provider: z.string(),
  critical: z.boolean(),
  /** What green is judged against, e.g. "max 1%", "max +20% vs baseline". */
  limit: z.string(),
  points: z.array(MetricPointSchema),
});

export const PhaseSpanSchema = z.object({
  phase: z.enum(PHASES),
  startedAtMs: Ms,
  endedAtMs: Ms.nullable(),
});

export const DecisionSchema = z.object({
  atMs: Ms,
  kind: z.string(),
  by: z.string(),
  reason: z.string(),
  /** Key fingerprint of a signed decision. */
  signedBy: z.string().nullable(),
});

export const CompensationSchema = z.object({
  name: z.string(),
  /** The activity that ran it. */
  activity: z.string(),
  status: z.enum(["registered", "running", "retrying", "done", "skipped", "failed"]),
  attempts: z.number().int(),
  startedAtMs: Ms.nullable(),
  endedAtMs: Ms.nullable(),
  lastError: z.string().nullable(),
});

/** One call of a hook or poll of a gate (lib/report/hooks.ts). */
export const HookCallSchema = z.object({
  atMs: Ms,
  name: z.string(),
  type: z.string(),
  /** Green's traffic when it was called. */
  greenPercent: z.number(),
  /** Said yes (2xx / exit 0); null: no answer recorded. */
  ok: z.boolean().nullable(),
  answer: z.string(),
});

export const RecoverySchema = z.object({
  /** When the deployment was stopped: the failing verdict or the decision that stopped it. */
  stoppedAtMs: Ms,
  /** Users back on blue (green had traffic) or the rollback complete (it never had any). */
  recoveredAtMs: Ms,
  ms: z.number(),
  what: z.string(),
});

export const ReportModelSchema = z.object({
  workflowId: z.string(),
  runId: z.string(),
  deploymentId: z.string(),
  service: z.string(),
  environment: z.string(),
  version: z.string(),
  blueVersion: z.string().nullable(),
  artifact: z.string(),
  requestedBy: z.string(),
  reason: z.string(),
  startedAtMs: Ms,
  endedAtMs: Ms.nullable(),
  /** promoted / rolled-back / needs-attention, "running", or how the workflow closed otherwise. */
  outcome: z.string(),
  outcomeReason: z.string().nullable(),
  phases: z.array(PhaseSpanSchema),
  weights: z.array(WeightPointSchema),
  metrics: z.array(MetricSeriesSchema),
  decisions: z.array(DecisionSchema),
  compensations: z.array(CompensationSchema),
  recovery: RecoverySchema.nullable(),
  /** Hook calls and gate polls, in order (absent in models made before hooks). */
  hookCalls: z.array(HookCallSchema).default([]),
});

export type WeightPoint = z.infer<typeof WeightPointSchema>;
export type MetricPoint = z.infer<typeof MetricPointSchema>;
export type MetricSeries = z.infer<typeof MetricSeriesSchema>;
export type PhaseSpan = z.infer<typeof PhaseSpanSchema>;
export type ReportDecision = z.infer<typeof DecisionSchema>;
export type ReportCompensation = z.infer<typeof CompensationSchema>;
export type Recovery = z.infer<typeof RecoverySchema>;
export type HookCall = z.infer<typeof HookCallSchema>;
export type ReportModel = z.infer<typeof ReportModelSchema>;
