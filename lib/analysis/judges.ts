/**
 * Judges: one function per judge kind, each turning a Measurement into a
 * MetricResult with a one-line reason that names the metric and the numbers.
 *
 * Policy shared by every judge, applied in this order:
 *  1. No measurement for the metric, or a provider error → verdict "error"
 *     when `error` is set ("error-rate: provider prometheus error: …"); a missing
 *     measurement counts as no data.
 *  2. Too little data → "inconclusive" (noData: true), or "fail" when the spec
 *     says `noData: "fail"`. Too little data is: the canary (and, for judges that
 *     compare against the baseline, the baseline) served fewer than
 *     `minRequests` requests — checked only when the provider reports request
 *     counts; an empty (null) or non-finite (NaN from 0/0 in PromQL) value; for
 *     Mann-Whitney, fewer than `minSamples` finite samples on either side.
 *  3. A relative judge against a zero baseline (or a non-positive one for
 *     minRatioToBaseline) is "inconclusive" (noData: false) — a relative change
 *     from zero is undefined; pair such metrics with an absolute threshold.
 *  4. The judge itself.
 *
 * Pure and deterministic.
 */

import {
  formatNumber,
  formatP,
  formatPair,
  formatPercent,
  formatSignedPercent,
  formatValue,
  inferUnit,
  truncate,
} from "./format";
import { classifyMannWhitney } from "./mann-whitney";
import {
  type Judge,
  MAX_REASON_CHARS,
  type MannWhitneyJudge,
  type MaxIncreaseJudge,
  type Measurement,
  type MetricResult,
  type MetricSpec,
  type MinRatioToBaselineJudge,
  type ThresholdJudge,
  type Unit,
} from "./types";

/** A spec narrowed to one judge kind. */
export type SpecWith<J extends Judge> = Omit<MetricSpec, "judge"> & { judge: J };

const MAX_ERROR_CHARS = 200;

function finiteOrNull(v: number | null | undefined): number | null {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

function result(
  spec: SpecWith<Judge>,
  fields: Omit<MetricResult, "metric" | "critical" | "noData"> & { noData?: boolean },
): MetricResult {
  return {
    metric: spec.name,
    critical: spec.critical,
    noData: false,
    ...fields,
    reason: truncate(fields.reason, MAX_REASON_CHARS),
  };
}

/** Too little data: inconclusive, or fail when the spec says noData: "fail". */
function noData(spec: SpecWith<Judge>, threshold: string, why: string, m?: Measurement): MetricResult {
  const fail = spec.noData === "fail";
  return result(spec, {
    verdict: fail ? "fail" : "inconclusive",
    value: finiteOrNull(m?.canary),
    baseline: finiteOrNull(m?.baseline),
    threshold,
    reason: `${spec.name}: no data (${why})${fail ? " and noData is fail" : ""}`,
    noData: true,
  });
}

function providerError(
  spec: SpecWith<Judge>,
  threshold: string,
  m: Measurement,
  error: string,
): MetricResult {
  return result(spec, {
    verdict: "error",
    value: finiteOrNull(m.canary),
    baseline: finiteOrNull(m.baseline),
    threshold,
    reason: `${spec.name}: provider ${spec.provider} error: ${truncate(error, MAX_ERROR_CHARS)}`,
  });
}

/** Checks 1–2 of the policy for scalar judges; returns a result to stop with, or the values. */
function preflight(
  spec: SpecWith<Judge>,
  threshold: string,
  m: Measurement | undefined,
  needsBaseline: boolean,
): MetricResult | { canary: number; baseline: number | null; m: Measurement } {
  if (!m) return noData(spec, threshold, "no measurement reported");
  if (m.error !== undefined) return providerError(spec, threshold, m, m.error);
  const low = lowRequests(spec, m, needsBaseline);
  if (low) return noData(spec, threshold, low, m);
  const canary = finiteOrNull(m.canary);
  if (canary === null) return noData(spec, threshold, emptyWhy("canary", m.canary), m);
  const baseline = finiteOrNull(m.baseline);
  if (needsBaseline && baseline === null) return noData(spec, threshold, emptyWhy("baseline", m.baseline), m);
  return { canary, baseline, m };
}

function emptyWhy(side: string, v: number | null): string {
  return v === null ? `empty result for ${side}` : `${side} value is ${v}`;
}

function lowRequests(spec: SpecWith<Judge>, m: Measurement, needsBaseline: boolean): string | null {
  if (spec.minRequests === undefined || !m.requests) return null;
  const { canary, baseline } = m.requests;
  if (canary < spec.minRequests) return `canary served ${canary} requests < minRequests ${spec.minRequests}`;
  if (needsBaseline && baseline < spec.minRequests) {
    return `baseline served ${baseline} requests < minRequests ${spec.minRequests}`;
  }
  return null;
}

function valueFormatter(spec: SpecWith<Judge>): (v: number, digits?: number) => string {
  const unit = inferUnit(spec);
  return (v, digits) => formatValue(v, unit, digits);
}

// ─── threshold ──────────────────────────────────────────────────────────────

export function thresholdText(spec: SpecWith<ThresholdJudge>): string {
  const fv = valueFormatter(spec);
  const { min, max } = spec.judge;
  const parts: string[] = [];
  if (min !== undefined) parts.push(`min ${fv(min)}`);
  if (max !== undefined) parts.push(`max ${fv(max)}`);
  return parts.join(", ");
}

/** Absolute bounds: "error-rate 4.8% > max 1%". */
export function judgeThreshold(spec: SpecWith<ThresholdJudge>, m: Measurement | undefined): MetricResult {
  const threshold = thresholdText(spec);
  const pre = preflight(spec, threshold, m, false);
  if ("verdict" in pre) return pre;
  const fv = valueFormatter(spec);
  const { canary, baseline } = pre;
  const { min, max } = spec.judge;
  const base = { value: canary, baseline, threshold };
  if (max !== undefined && canary > max) {
    const [c, t] = formatPair(canary, max, fv);
    return result(spec, { ...base, verdict: "fail", reason: `${spec.name} ${c} > max ${t}` });
  }
  if (min !== undefined && canary < min) {
    const [c, t] = formatPair(canary, min, fv);
    return result(spec, { ...base, verdict: "fail", reason: `${spec.name} ${c} < min ${t}` });
  }
  const reason =
    min !== undefined && max !== undefined
      ? `${spec.name} ${fv(canary)} within min ${fv(min)} and max ${fv(max)}`
      : max !== undefined
        ? `${spec.name} ${fv(canary)} <= max ${fv(max)}`
        : `${spec.name} ${fv(canary)} >= min ${fv(min!)}`;
  return result(spec, { ...base, verdict: "pass", reason });
}

// ─── maxIncrease ────────────────────────────────────────────────────────────

/** Relative to the baseline: "p95-latency 312ms is +56% vs baseline 200ms (max +20%)". */
export function judgeMaxIncrease(spec: SpecWith<MaxIncreaseJudge>, m: Measurement | undefined): MetricResult {
  const limit = formatSignedPercent(spec.judge.fraction);
  const threshold = `max ${limit} vs baseline`;
  const pre = preflight(spec, threshold, m, true);
  if ("verdict" in pre) return pre;
  const fv = valueFormatter(spec);
  const canary = pre.canary;
  const baseline = pre.baseline!;
  const base = { value: canary, baseline, threshold };
  if (baseline === 0) {
    if (canary <= 0) {
      return result(spec, {
        ...base,
        verdict: "pass",
        reason: `${spec.name} ${fv(canary)} is no increase vs baseline ${fv(baseline)} (max ${limit})`,
      });
    }
    return result(spec, {
      ...base,
      verdict: "inconclusive",
      reason: `${spec.name} ${fv(canary)} vs baseline ${fv(baseline)}: relative increase from a zero baseline is undefined (max ${limit})`,
    });
  }
  const increase = (canary - baseline) / Math.abs(baseline);
  const fail = increase > spec.judge.fraction;
  const [change] = formatPair(increase, spec.judge.fraction, formatSignedPercent);
  return result(spec, {
    ...base,
    verdict: fail ? "fail" : "pass",
    reason: `${spec.name} ${fv(canary)} is ${change} vs baseline ${fv(baseline)} (max ${limit})`,
  });
}

// ─── minRatioToBaseline ─────────────────────────────────────────────────────

/** canary / baseline at least `ratio`: "checkout-conversion ratio 0.91 < 0.95 of baseline (2.73% vs 3%)". */
export function judgeMinRatioToBaseline(
  spec: SpecWith<MinRatioToBaselineJudge>,
  m: Measurement | undefined,
): MetricResult {
  const threshold = `min ${formatNumber(spec.judge.ratio)} of baseline`;
  const pre = preflight(spec, threshold, m, true);
  if ("verdict" in pre) return pre;
  const fv = valueFormatter(spec);
  const canary = pre.canary;
  const baseline = pre.baseline!;
  const base = { value: canary, baseline, threshold };
  if (baseline <= 0) {
    return result(spec, {
      ...base,
      verdict: "inconclusive",
      reason: `${spec.name} baseline is ${fv(baseline)}: ratio to baseline undefined (min ${formatNumber(spec.judge.ratio)} of baseline)`,
    });
  }
  const ratio = canary / baseline;
  const fail = ratio < spec.judge.ratio;
  const [r, min] = formatPair(ratio, spec.judge.ratio, formatNumber);
  return result(spec, {
    ...base,
    verdict: fail ? "fail" : "pass",
    reason: `${spec.name} ratio ${r} ${fail ? "<" : ">="} ${min} of baseline (${fv(canary)} vs ${fv(baseline)})`,
  });
}

// ─── mannWhitney ────────────────────────────────────────────────────────────

function formatShift(v: number, unit: Unit): string {
  const sign = v < 0 ? "-" : "+";
  const abs = Math.abs(v);
  return unit === "ratio" ? `${sign}${formatNumber(abs * 100)}pp` : `${sign}${formatValue(abs, unit)}`;
}

export function mannWhitneyText(j: MannWhitneyJudge): string {
  const what =
    j.direction === "increase-is-bad"
      ? "increase"
      : j.direction === "decrease-is-bad"
        ? "decrease"
        : "change";
  return `Mann-Whitney: ${what} beyond ${formatPercent(j.tolerance)} at ${formatPercent(j.confidence)} confidence`;
}

/**
 * Statistical comparison of canary vs baseline samples (see classifyMannWhitney
 * for the rules). Non-finite samples are dropped before testing.
 * "p95-latency median 223ms vs baseline 200ms: shift +24.4ms (+12.2%) beyond tolerance 10%, p=0.00081 < 0.05 (20 vs 20 samples)"
 */
export function judgeMannWhitney(spec: SpecWith<MannWhitneyJudge>, m: Measurement | undefined): MetricResult {
  const j = spec.judge;
  const threshold = mannWhitneyText(j);
  if (!m) return noData(spec, threshold, "no measurement reported");
  if (m.error !== undefined) return providerError(spec, threshold, m, m.error);
  const low = lowRequests(spec, m, true);
  if (low) return noData(spec, threshold, low, m);
  const canary = (m.canarySamples ?? []).filter(Number.isFinite);
  const baseline = (m.baselineSamples ?? []).filter(Number.isFinite);
  if (canary.length < j.minSamples || baseline.length < j.minSamples) {
    return noData(
      spec,
      threshold,
      `${canary.length} canary / ${baseline.length} baseline samples, minSamples ${j.minSamples}`,
      m,
    );
  }
  const c = classifyMannWhitney(canary, baseline, j);
  const unit = inferUnit(spec);
  const fv = (v: number) => formatValue(v, unit);
  const head = `${spec.name} median ${fv(c.canaryMedian)} vs baseline ${fv(c.baselineMedian)}`;
  const n = `${c.nCanary} vs ${c.nBaseline} samples`;
  const alpha = formatNumber(c.alpha);
  const p = c.test ? formatP(c.test.pValue) : "";
  const rel = c.effect === null ? "from a zero baseline" : formatSignedPercent(c.effect);
  const shift = `shift ${formatShift(c.shift, unit)} (${rel})`;
  const tol = formatPercent(j.tolerance);
  const word =
    j.direction === "increase-is-bad"
      ? "increase"
      : j.direction === "decrease-is-bad"
        ? "decrease"
        : "difference";
  let reason: string;
  switch (c.outcome) {
    case "identical":
      reason = `${spec.name} canary and baseline samples are identical (median ${fv(c.canaryMedian)}, ${n})`;
      break;
    case "not-significant":
      reason = `${head}: no significant ${word} (${p} >= ${alpha}, ${n})`;
      break;
    case "significant-improvement":
      reason = `${head}: significant improvement, ${shift} (${p}, ${n})`;
      break;
    case "significant-within-tolerance":
      reason = `${head}: ${shift} within tolerance ${tol}, significant at ${p} < ${alpha} (${n})`;
      break;
    case "significant-beyond-tolerance":
      reason = `${head}: ${shift} beyond tolerance ${tol}, ${p} < ${alpha} (${n})`;
      break;
    default:
      // too-few-samples is handled above; keep the switch exhaustive
      reason = `${head} (${n})`;
  }
  return result(spec, {
    verdict: c.verdict,
    value: c.canaryMedian,
    baseline: c.baselineMedian,
    threshold,
    reason,
    ...(c.test
      ? {
          stats: {
            u: c.test.u1,
            pValue: c.test.pValue,
            alpha: c.alpha,
            method: c.test.method,
            shift: c.shift,
            effect: c.effect,
            effectBasis: c.effectBasis,
            nCanary: c.nCanary,
            nBaseline: c.nBaseline,
          },
        }
      : {}),
  });
}

// ─── dispatch ───────────────────────────────────────────────────────────────

/** Whether the spec's judge compares green with blue (relative limits, Mann-Whitney); thresholds do not. */
export function comparesWithBaseline(spec: MetricSpec): boolean {
  return spec.judge.kind !== "threshold";
}

/** Judge one metric with the judge its spec names. */
export function judgeMetric(spec: MetricSpec, m: Measurement | undefined): MetricResult {
  const j = spec.judge;
  switch (j.kind) {
    case "threshold":
      return judgeThreshold({ ...spec, judge: j }, m);
    case "maxIncrease":
      return judgeMaxIncrease({ ...spec, judge: j }, m);
    case "minRatioToBaseline":
      return judgeMinRatioToBaseline({ ...spec, judge: j }, m);
    case "mannWhitney":
      return judgeMannWhitney({ ...spec, judge: j }, m);
  }
}

/**
 * Judge every spec against the interval's measurements (matched by metric
 * name; the first measurement of a name wins; measurements of unknown metrics
 * are ignored). Results come back in spec order; a spec without a measurement
 * is judged as no data.
 */
export function judgeAll(specs: readonly MetricSpec[], measurements: readonly Measurement[]): MetricResult[] {
  const byName = new Map<string, Measurement>();
  for (const m of measurements) if (!byName.has(m.metric)) byName.set(m.metric, m);
  return specs.map((s) => judgeMetric(s, byName.get(s.name)));
}
