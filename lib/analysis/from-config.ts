/**
 * Adapter: release-config metrics (lib/config, normalized) → analysis MetricSpecs
 * and limits (lib/analysis). Pure, so the workflow builds its specs itself and
 * the judging stays deterministic and in history.
 */
import type { Analysis, AnalysisOverride, Metric } from "../config/schema";
import type { AnalysisLimitsInput, Judge, MetricSpec } from "./types";

function judgeFrom(metric: Metric): Judge {
  const j = metric.judge;
  switch (j.kind) {
    case "threshold": {
      const out: Judge = { kind: "threshold" };
      if (j.min !== undefined) out.min = j.min;
      if (j.max !== undefined) out.max = j.max;
      return out;
    }
    case "maxIncrease":
      return { kind: "maxIncrease", fraction: j.fraction };
    case "minRatioToBaseline":
      return { kind: "minRatioToBaseline", ratio: j.ratio };
    case "mannWhitney":
      return {
        kind: "mannWhitney",
        tolerance: j.tolerance,
        confidence: j.confidence,
        direction: j.worse === "higher" ? "increase-is-bad" : "decrease-is-bad",
        minSamples: 5,
      };
  }
}

/** One config metric as an analysis spec; `minRequests` comes from the (step-effective) analysis section. */
export function metricSpecFromConfig(metric: Metric, minRequests: number): MetricSpec {
  const spec: MetricSpec = {
    name: metric.name,
    provider: metric.provider,
    query: metric.query,
    critical: metric.critical,
    noData: metric.noData,
    judge: judgeFrom(metric),
  };
  if (minRequests > 0) spec.minRequests = minRequests;
  return spec;
}

/** The analysis section with a step's override applied (an override carries only what it changes). */
export function effectiveAnalysis(analysis: Analysis, override?: AnalysisOverride): Analysis {
  return { ...analysis, ...(override ?? {}) };
}

export function metricSpecsFromConfig(analysis: Analysis, override?: AnalysisOverride): MetricSpec[] {
  const eff = effectiveAnalysis(analysis, override);
  return eff.metrics.map((m) => metricSpecFromConfig(m, eff.minRequests));
}

export function analysisLimitsFromConfig(
  analysis: Analysis,
  override?: AnalysisOverride,
): AnalysisLimitsInput {
  const eff = effectiveAnalysis(analysis, override);
  return {
    failureLimit: eff.failureLimit,
    consecutiveErrorLimit: eff.consecutiveErrorLimit,
    inconclusiveLimit: eff.inconclusiveLimit,
  };
}
