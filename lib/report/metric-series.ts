/**
 * The metric series of the report: every analysis interval in the history
 * (a collectMeasurements activity: what was asked in its input, what was
 * measured in its result) judged again with the judges the workflow used
 * (lib/analysis, pure and deterministic), so each point carries green's and
 * blue's values, the limit at that moment and the verdict — exactly what the
 * workflow decided on, without a worker to query.
 */
import { z } from "zod";
import { inferUnit } from "../analysis/format";
import { metricSpecsFromConfig } from "../analysis/from-config";
import { judgeAll } from "../analysis/judges";
import { type Judge, JudgeSchema, MeasurementSchema, type MetricSpec, UnitSchema } from "../analysis/types";
import type { Analysis, AnalysisOverride } from "../config/schema";
import type { MetricPoint, MetricSeries } from "./model";

/** What bake.ts passes to collectMeasurements (activities/analysis.ts CollectInput). */
export const CollectInputSchema = z.object({
  step: z.number().int(),
  interval: z.number().int(),
  baselineVersion: z.string().nullable(),
  windowMs: z.number(),
  metrics: z.array(
    z.object({
      name: z.string(),
      provider: z.string(),
      query: z.string(),
      judge: JudgeSchema,
      unit: UnitSchema.optional(),
    }),
  ),
});
export type CollectInput = z.infer<typeof CollectInputSchema>;

export const MeasurementsSchema = z.array(MeasurementSchema);

/** One measured interval, as read from history. */
export interface Interval {
  /** Workflow time of the judging (the task after the activity completed). */
  atMs: number;
  input: CollectInput;
  measurements: z.infer<typeof MeasurementsSchema>;
}

/** The part of the release config the specs come from (the normalized config in the workflow input). */
export interface AnalysisSource {
  analysis: Analysis | undefined;
  /** Traffic steps in order: step index i (1-based) is trafficSteps[i - 1]. */
  trafficSteps: Array<{ weight: number; analysis?: AnalysisOverride }>;
}

/** The workflow's specs for a step (critical, noData, minRequests); the judge and query are the interval's own. */
function specsFor(source: AnalysisSource, interval: Interval): MetricSpec[] {
  let configured: MetricSpec[] = [];
  if (source.analysis) {
    const override = source.trafficSteps[interval.input.step - 1]?.analysis;
    try {
      configured = metricSpecsFromConfig(source.analysis, override);
    } catch {
      configured = []; // a config this version cannot read: judge with the interval's specs alone
    }
  }
  return interval.input.metrics.map((m) => {
    const c = configured.find((s) => s.name === m.name);
    const spec: MetricSpec = {
      name: m.name,
      provider: m.provider,
      query: m.query,
      critical: c?.critical ?? false,
      noData: c?.noData ?? "inconclusive",
      judge: m.judge,
    };
    if (c?.minRequests !== undefined) spec.minRequests = c.minRequests;
    if (m.unit) spec.unit = m.unit;
    return spec;
  });
}

/** The value green is held to at this interval: fixed for thresholds, relative to blue otherwise. */
export function limitsOf(judge: Judge, blue: number | null): { high: number | null; low: number | null } {
  const rel = (f: number) => (blue === null ? null : blue + Math.abs(blue) * f);
  switch (judge.kind) {
    case "threshold":
      return { high: judge.max ?? null, low: judge.min ?? null };
    case "maxIncrease":
      return { high: rel(judge.fraction), low: null };
    case "minRatioToBaseline":
      return { high: null, low: blue === null ? null : blue * judge.ratio };
    case "mannWhitney":
      return {
        high: judge.direction === "decrease-is-bad" ? null : rel(judge.tolerance),
        low: judge.direction === "increase-is-bad" ? null : rel(-judge.tolerance),
      };
  }
}

/** Every metric's series, in the order the metrics were first measured. */
export function metricSeries(source: AnalysisSource, intervals: readonly Interval[]): MetricSeries[] {
  const series = new Map<string, MetricSeries>();
  for (const interval of intervals) {
    const specs = specsFor(source, interval);
    const results = judgeAll(specs, interval.measurements);
    specs.forEach((spec, i) => {
      const r = results[i]!;
      let s = series.get(spec.name);
      if (!s) {
        s = {
          name: spec.name,
          unit: inferUnit(spec),
          provider: spec.provider,
          critical: spec.critical,
          limit: r.threshold,
          points: [],
        };
        series.set(spec.name, s);
      }
      const { high, low } = limitsOf(spec.judge, r.baseline);
      const point: MetricPoint = {
        atMs: interval.atMs,
        stepIndex: interval.input.step,
        weightPercent: source.trafficSteps[interval.input.step - 1]?.weight ?? 100,
        green: r.value,
        blue: r.baseline,
        limitHigh: high,
        limitLow: low,
        verdict: r.verdict,
        reason: r.reason,
      };
      s.points.push(point);
    });
  }
  return [...series.values()];
}
