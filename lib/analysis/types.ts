/**
 * Types of the analysis core: what a metric is judged by (MetricSpec), what a
 * provider measured (Measurement), what a judge decided (MetricResult), and the
 * state of one analysis run (AnalysisState).
 *
 * This is the analysis-internal spec, deliberately independent of the YAML
 * config schema in `lib/config/`; a small adapter maps config → MetricSpec.
 * Everything here is plain JSON (no Infinity/NaN, no Dates) because results and
 * state travel through Temporal payloads and workflow history.
 */
import { z } from "zod";

export const METRIC_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export const MetricNameSchema = z
  .string()
  .regex(METRIC_NAME_PATTERN, "metric name: letters, digits, '.', '_', '-'; at most 63 characters");

export const UnitSchema = z.enum(["ratio", "ms", "s", "number"]);

/** Absolute bounds on the canary value. At least one of min/max. */
export const ThresholdJudgeSchema = z
  .object({
    kind: z.literal("threshold"),
    min: z.number().optional(),
    max: z.number().optional(),
  })
  .refine((j) => j.min !== undefined || j.max !== undefined, { message: "threshold needs min or max" })
  .refine((j) => j.min === undefined || j.max === undefined || j.min <= j.max, {
    message: "threshold min must be <= max",
  });

/** Canary may exceed the baseline by at most `fraction` (0.2 = +20%). Higher is worse. */
export const MaxIncreaseJudgeSchema = z.object({
  kind: z.literal("maxIncrease"),
  fraction: z.number().nonnegative(),
});

/** canary / baseline must be at least `ratio` (0.95). Lower is worse. */
export const MinRatioToBaselineJudgeSchema = z.object({
  kind: z.literal("minRatioToBaseline"),
  ratio: z.number().positive(),
});

/**
 * Mann-Whitney U comparison of canary vs baseline samples (Kayenta-style).
 * `tolerance` is the allowed effect size as a fraction of the baseline median
 * (0.1 = a shift of up to 10% is tolerated); `confidence` sets alpha = 1 - confidence.
 * `minSamples` per side below which the result is "not enough data".
 */
export const MannWhitneyJudgeSchema = z.object({
  kind: z.literal("mannWhitney"),
  tolerance: z.number().nonnegative().default(0.1),
  confidence: z.number().gt(0.5).lt(1).default(0.95),
  direction: z.enum(["increase-is-bad", "decrease-is-bad", "either"]).default("increase-is-bad"),
  minSamples: z.number().int().min(3).default(5),
});

export const JudgeSchema = z.discriminatedUnion("kind", [
  ThresholdJudgeSchema,
  MaxIncreaseJudgeSchema,
  MinRatioToBaselineJudgeSchema,
  MannWhitneyJudgeSchema,
]);

export const MetricSpecSchema = z.object({
  name: MetricNameSchema,
  provider: z.string().min(1),
  query: z.string().min(1),
  /** A failing measurement fails the step at once, whatever failureLimit says. */
  critical: z.boolean().default(false),
  /** Missing / too little data: "inconclusive" (default) or "fail". */
  noData: z.enum(["inconclusive", "fail"]).default("inconclusive"),
  /** Requests the canary (and, for relative judges, the baseline) must have served. */
  minRequests: z.number().int().nonnegative().optional(),
  /** Display unit; inferred from name/query when absent (see format.ts). */
  unit: UnitSchema.optional(),
  judge: JudgeSchema,
});

export const MeasurementSchema = z.object({
  metric: z.string(),
  /** Aggregate value over the interval; null = empty result. Non-finite values are treated as empty. */
  canary: z.number().nullable(),
  baseline: z.number().nullable(),
  canarySamples: z.array(z.number()).optional(),
  baselineSamples: z.array(z.number()).optional(),
  requests: z.object({ canary: z.number().nonnegative(), baseline: z.number().nonnegative() }).optional(),
  /** Provider error (query failed, provider unreachable). Wins over any value. */
  error: z.string().optional(),
});

export const VerdictSchema = z.enum(["pass", "marginal", "fail", "inconclusive", "error"]);

export const MannWhitneyStatsSchema = z.object({
  u: z.number(),
  pValue: z.number(),
  alpha: z.number(),
  method: z.enum(["exact", "asymptotic"]),
  /** Location shift canary - baseline (Hodges–Lehmann, or mean difference; see effectBasis). */
  shift: z.number(),
  /** shift relative to the baseline reference (median or mean); null when that is 0. */
  effect: z.number().nullable(),
  effectBasis: z.enum(["hodges-lehmann", "mean"]),
  nCanary: z.number().int(),
  nBaseline: z.number().int(),
});

export const MetricResultSchema = z.object({
  metric: z.string(),
  critical: z.boolean(),
  verdict: VerdictSchema,
  /** Canary value (median of samples for Mann-Whitney); null when absent. */
  value: z.number().nullable(),
  baseline: z.number().nullable(),
  /** What the value was judged against, e.g. "max 1%", "max +20% vs baseline". */
  threshold: z.string(),
  /** One line with the metric name and the numbers, e.g. "error-rate 4.8% > max 1%". */
  reason: z.string(),
  /** True when the verdict comes from missing / too little data (or noData: fail). */
  noData: z.boolean(),
  stats: MannWhitneyStatsSchema.optional(),
});

/**
 * Limits of one analysis run. Every limit is the number TOLERATED; the decision
 * triggers when a count EXCEEDS it (the Argo Rollouts convention):
 *  - failureLimit:          failed measurements of one metric within a step → "fail"
 *  - consecutiveErrorLimit: consecutive provider errors of one metric       → "pause" (not fail)
 *  - inconclusiveLimit:     consecutive inconclusive results of one metric  → "pause"
 * Log bounds: at most `logPerMetric` entries per metric and `maxLogEntries` in
 * total (the per-metric cap shrinks to floor(maxLogEntries / metrics)).
 */
export const AnalysisLimitsSchema = z.object({
  failureLimit: z.number().int().nonnegative().default(0),
  consecutiveErrorLimit: z.number().int().nonnegative().default(4),
  inconclusiveLimit: z.number().int().nonnegative().default(3),
  logPerMetric: z.number().int().min(1).max(500).default(50),
  maxLogEntries: z.number().int().min(1).max(5000).default(1000),
});

export const DecisionSchema = z.enum(["continue", "fail", "pause"]);

export const LogEntrySchema = z.object({
  atMs: z.number(),
  stepIndex: z.number().int(),
  weightPercent: z.number(),
  verdict: VerdictSchema,
  value: z.number().nullable(),
  baseline: z.number().nullable(),
  threshold: z.string(),
  reason: z.string(),
});

export const CountersSchema = z.object({
  samples: z.number().int(),
  pass: z.number().int(),
  marginal: z.number().int(),
  fail: z.number().int(),
  inconclusive: z.number().int(),
  error: z.number().int(),
});

export const MetricStateSchema = z.object({
  critical: z.boolean(),
  /** Counters of the current step (reset when the step index changes). */
  step: CountersSchema.extend({
    consecutiveErrors: z.number().int(),
    consecutiveInconclusive: z.number().int(),
  }),
  /** Counters over the whole run. */
  total: CountersSchema,
  /** Most recent failing measurement, kept even after it leaves the log. */
  lastFailure: LogEntrySchema.nullable(),
  /** The most recent measurements, oldest first, bounded (see AnalysisLimits). */
  log: z.array(LogEntrySchema),
});

export const AnalysisVerdictSchema = z.object({
  decision: DecisionSchema,
  /** The metric the decision is about (null for an all-clear). */
  metric: z.string().nullable(),
  /** One line: "error-rate 4.8% > max 1% at 10% traffic (3 of 3 samples)". */
  line: z.string(),
  stepIndex: z.number().int(),
  weightPercent: z.number(),
  atMs: z.number(),
});

export const AnalysisStateSchema = z.object({
  limits: AnalysisLimitsSchema,
  status: z.enum(["running", "failed", "paused"]),
  /** Intervals recorded over the whole run. */
  intervals: z.number().int(),
  step: z
    .object({
      index: z.number().int(),
      weightPercent: z.number(),
      intervals: z.number().int(),
      startedAtMs: z.number(),
    })
    .nullable(),
  /** Per metric, in the order metrics were first seen. */
  metrics: z.record(z.string(), MetricStateSchema),
  /** The latest verdict (of the latest interval or step conclusion). */
  verdict: AnalysisVerdictSchema.nullable(),
  /** Non-"continue" decisions, most recent last, at most MAX_DECISIONS. */
  decisions: z.array(AnalysisVerdictSchema),
});

export type Unit = z.infer<typeof UnitSchema>;
export type ThresholdJudge = z.infer<typeof ThresholdJudgeSchema>;
export type MaxIncreaseJudge = z.infer<typeof MaxIncreaseJudgeSchema>;
export type MinRatioToBaselineJudge = z.infer<typeof MinRatioToBaselineJudgeSchema>;
export type MannWhitneyJudge = z.infer<typeof MannWhitneyJudgeSchema>;
export type Judge = z.infer<typeof JudgeSchema>;
/** A metric spec after parsing (defaults applied). */
export type MetricSpec = z.infer<typeof MetricSpecSchema>;
/** A metric spec as written (defaults optional). */
export type MetricSpecInput = z.input<typeof MetricSpecSchema>;
export type Measurement = z.infer<typeof MeasurementSchema>;
export type Verdict = z.infer<typeof VerdictSchema>;
export type MannWhitneyStats = z.infer<typeof MannWhitneyStatsSchema>;
export type MetricResult = z.infer<typeof MetricResultSchema>;
export type AnalysisLimits = z.infer<typeof AnalysisLimitsSchema>;
export type AnalysisLimitsInput = z.input<typeof AnalysisLimitsSchema>;
export type Decision = z.infer<typeof DecisionSchema>;
export type LogEntry = z.infer<typeof LogEntrySchema>;
export type Counters = z.infer<typeof CountersSchema>;
export type MetricState = z.infer<typeof MetricStateSchema>;
export type AnalysisVerdict = z.infer<typeof AnalysisVerdictSchema>;
export type AnalysisState = z.infer<typeof AnalysisStateSchema>;

/** Where in the rollout an interval was measured. */
export interface IntervalContext {
  stepIndex: number;
  weightPercent: number;
  /** Workflow time (workflow Date.now() is deterministic) of the measurement. */
  atMs: number;
}

/** Upper bound on the `decisions` history kept in AnalysisState. */
export const MAX_DECISIONS = 20;
/** Upper bound on a reason sentence kept in results and logs. */
export const MAX_REASON_CHARS = 300;
