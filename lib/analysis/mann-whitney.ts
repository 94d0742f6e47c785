/**
 * Mann-Whitney U test (Wilcoxon rank-sum) and a Kayenta-style classifier.
 *
 * The test follows the conventions of scipy.stats.mannwhitneyu so its numbers
 * can be checked against it (test/unit/lib/analysis/mann-whitney.test.ts):
 *  - U1 = R1 - n1(n1+1)/2 is the statistic of the FIRST sample x (average ranks for ties).
 *  - alternative "greater": x tends to be larger than y; p = P(U >= U1).
 *    "less": p = P(U >= U2); "two-sided": p = 2 * P(U >= max(U1, U2)), clipped to 1.
 *  - asymptotic: z = (U - n1 n2/2 - 0.5 [continuity]) / s with the tie-corrected
 *    s = sqrt(n1 n2 / 12 * ((n+1) - sum(t^3 - t) / (n(n-1)))), p = P(Z > z).
 *    If every value is tied (s = 0) there is no evidence of a difference: p = 1.
 *  - exact: the null distribution of U without ties (coefficients of the
 *    Gaussian binomial [n1+n2 choose n1]_q), summed from the nearer tail.
 *    Not tie-corrected; with ties U is floored (as scipy does) — use "auto".
 *  - auto: exact when either sample has at most 8 values and there are no ties,
 *    asymptotic otherwise (scipy's rule).
 *
 * Pure: no I/O, no clock, no randomness.
 */
import { normalSf } from "./normal";

export type Alternative = "two-sided" | "less" | "greater";
export type MethodChoice = "auto" | "exact" | "asymptotic";

export interface MannWhitneyOptions {
  alternative?: Alternative;
  method?: MethodChoice;
  /** Continuity correction for the normal approximation (default true). */
  continuity?: boolean;
}

export interface MannWhitneyTest {
  /** U statistic of the first sample (scipy's `statistic`). */
  u1: number;
  /** U statistic of the second sample; u1 + u2 = n1 * n2. */
  u2: number;
  pValue: number;
  /** Standardised statistic of the normal approximation; null for the exact method. */
  z: number | null;
  method: "exact" | "asymptotic";
  alternative: Alternative;
  n1: number;
  n2: number;
  ties: boolean;
}

/** Average ranks (1-based) of `values`, and the sizes of tie groups larger than 1. */
export function rankWithTies(values: readonly number[]): { ranks: number[]; tieSizes: number[] } {
  const order = values.map((_, i) => i).sort((a, b) => values[a]! - values[b]! || a - b);
  const ranks = new Array<number>(values.length);
  const tieSizes: number[] = [];
  let i = 0;
  while (i < order.length) {
    let j = i + 1;
    while (j < order.length && values[order[j]!] === values[order[i]!]) j++;
    const avg = (i + 1 + j) / 2; // mean of ranks i+1 .. j
    for (let k = i; k < j; k++) ranks[order[k]!] = avg;
    if (j - i > 1) tieSizes.push(j - i);
    i = j;
  }
  return { ranks, tieSizes };
}

function assertSample(name: string, v: readonly number[]): void {
  if (v.length === 0) throw new RangeError(`mannWhitneyU: ${name} is empty`);
  for (const x of v) {
    if (!Number.isFinite(x)) throw new RangeError(`mannWhitneyU: ${name} contains a non-finite value (${x})`);
  }
}

/**
 * P(U <= k) for k = 0..kmax under H0 without ties, for sample sizes m and n.
 * The number of arrangements with U = k is the coefficient of q^k in the
 * Gaussian binomial [m+n choose m]_q = prod_{i=1..m} (1 - q^(n+i)) / (1 - q^i).
 * Only coefficients up to kmax are needed (both factors are lower-triangular),
 * which keeps this cheap when summing from the nearer tail.
 */
function exactCdfUpTo(m0: number, n0: number, kmax: number): number[] {
  // the distribution is symmetric in (m, n): iterate over the smaller size
  const m = Math.min(m0, n0);
  const n = Math.max(m0, n0);
  const a = new Float64Array(kmax + 1);
  a[0] = 1;
  for (let i = 1; i <= m; i++) {
    const up = n + i;
    for (let k = kmax; k >= up; k--) a[k] = a[k]! - a[k - up]!; // × (1 - q^(n+i))
    for (let k = i; k <= kmax; k++) a[k] = a[k]! + a[k - i]!; // ÷ (1 - q^i)
  }
  // total arrangements C(m+n, m), multiplicatively
  let total = 1;
  for (let i = 1; i <= m; i++) total = (total * (n + i)) / i;
  const cdf = new Array<number>(kmax + 1);
  let acc = 0;
  for (let k = 0; k <= kmax; k++) {
    acc += a[k]!;
    cdf[k] = acc / total;
  }
  return cdf;
}

/** Exact P(U >= u) under H0 (no ties), u an integer in [0, m n]. */
export function exactUpperTail(u: number, m: number, n: number): number {
  const mn = m * n;
  if (u <= 0) return 1;
  if (u > mn) return 0;
  const complement = mn - u;
  if (complement < u) {
    // symmetric: P(U >= u) = P(U <= mn - u)
    return exactCdfUpTo(m, n, complement)[complement]!;
  }
  // P(U >= u) = 1 - P(U <= u - 1)
  return 1 - exactCdfUpTo(m, n, u - 1)[u - 1]!;
}

/** Mann-Whitney U test of x against y (scipy.stats.mannwhitneyu semantics). */
export function mannWhitneyU(
  x: readonly number[],
  y: readonly number[],
  options: MannWhitneyOptions = {},
): MannWhitneyTest {
  assertSample("x", x);
  assertSample("y", y);
  const alternative = options.alternative ?? "two-sided";
  const continuity = options.continuity ?? true;
  const n1 = x.length;
  const n2 = y.length;
  const { ranks, tieSizes } = rankWithTies([...x, ...y]);
  let r1 = 0;
  for (let i = 0; i < n1; i++) r1 += ranks[i]!;
  const u1 = r1 - (n1 * (n1 + 1)) / 2;
  const u2 = n1 * n2 - u1;
  const ties = tieSizes.length > 0;

  let u: number;
  let factor = 1;
  if (alternative === "greater") u = u1;
  else if (alternative === "less") u = u2;
  else {
    u = Math.max(u1, u2);
    factor = 2;
  }

  let method: "exact" | "asymptotic";
  const choice = options.method ?? "auto";
  if (choice === "auto") method = (n1 <= 8 || n2 <= 8) && !ties ? "exact" : "asymptotic";
  else method = choice;

  let p: number;
  let z: number | null = null;
  if (method === "exact") {
    p = exactUpperTail(Math.floor(u), n1, n2);
  } else {
    const n = n1 + n2;
    let tieTerm = 0;
    for (const t of tieSizes) tieTerm += t * t * t - t;
    const s = Math.sqrt(((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1))));
    if (!(s > 0)) {
      p = 1; // every value tied: no evidence of any difference
    } else {
      z = (u - (n1 * n2) / 2 - (continuity ? 0.5 : 0)) / s;
      p = normalSf(z);
    }
  }
  p = Math.min(1, Math.max(0, p * factor));
  return { u1, u2, pValue: p, z, method, alternative, n1, n2, ties };
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function mean(values: readonly number[]): number {
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

/** Above this many pairs the shift estimate falls back to median(x) - median(y). */
export const HODGES_LEHMANN_MAX_PAIRS = 250_000;

/**
 * Hodges–Lehmann estimate of the location shift x - y: the median of all
 * pairwise differences x_i - y_j. Beyond HODGES_LEHMANN_MAX_PAIRS pairs (e.g.
 * 500 × 500 samples) it returns median(x) - median(y) to bound time and memory.
 */
export function hodgesLehmannShift(x: readonly number[], y: readonly number[]): number {
  if (x.length * y.length > HODGES_LEHMANN_MAX_PAIRS) return median(x) - median(y);
  const d = new Float64Array(x.length * y.length);
  let k = 0;
  for (const xi of x) for (const yj of y) d[k++] = xi - yj;
  d.sort();
  const mid = d.length >> 1;
  return d.length % 2 === 1 ? d[mid]! : (d[mid - 1]! + d[mid]!) / 2;
}

export type Direction = "increase-is-bad" | "decrease-is-bad" | "either";

export interface ClassifyOptions {
  /** Tolerated effect size, as a fraction of the baseline reference (0.1 = 10%). */
  tolerance: number;
  /** 1 - alpha, e.g. 0.95. */
  confidence: number;
  direction: Direction;
  /** Minimum samples per side; fewer → inconclusive. */
  minSamples: number;
}

export type ClassifyOutcome =
  | "too-few-samples"
  | "identical"
  | "not-significant"
  | "significant-within-tolerance"
  | "significant-beyond-tolerance"
  | "significant-improvement";

export interface Classification {
  verdict: "pass" | "marginal" | "fail" | "inconclusive";
  outcome: ClassifyOutcome;
  canaryMedian: number;
  baselineMedian: number;
  nCanary: number;
  nBaseline: number;
  /** Present unless outcome is too-few-samples or identical. */
  test?: MannWhitneyTest;
  alpha: number;
  /** Location shift canary - baseline in metric units. */
  shift: number;
  /** shift / |reference| (reference = baseline median, or mean for effectBasis "mean"); null if reference is 0. */
  effect: number | null;
  effectBasis: "hodges-lehmann" | "mean";
}

/**
 * Kayenta-style classification of canary samples against baseline samples.
 *
 *  1. Fewer than `minSamples` on either side → inconclusive (too-few-samples).
 *  2. Identical sample multisets, or a single distinct value overall → pass.
 *  3. Test canary vs baseline with the alternative matching `direction`
 *     (increase-is-bad → "greater", decrease-is-bad → "less", either → two-sided);
 *     significant when p < alpha = 1 - confidence.
 *  4. Effect size = Hodges–Lehmann shift / |baseline median|. When the test is
 *     significant but the HL shift is exactly 0 (discrete data with many equal
 *     values, e.g. mostly-zero error counts), the mean difference / |baseline mean|
 *     is used instead so a real shift is not hidden. A zero reference makes the
 *     effect undefined (null) and any non-zero shift counts as beyond tolerance.
 *  5. significant, shift in the bad direction, |effect| > tolerance → fail
 *     significant, shift in the bad direction, within tolerance      → marginal
 *       (a real but tolerated change: recorded and shown, never fails a step)
 *     significant, shift in the good direction                        → pass (improvement)
 *     not significant                                                 → pass
 */
export function classifyMannWhitney(
  canary: readonly number[],
  baseline: readonly number[],
  opts: ClassifyOptions,
): Classification {
  const alpha = 1 - opts.confidence;
  const base = {
    canaryMedian: median(canary),
    baselineMedian: median(baseline),
    nCanary: canary.length,
    nBaseline: baseline.length,
    alpha,
  };
  if (canary.length < opts.minSamples || baseline.length < opts.minSamples) {
    return {
      ...base,
      verdict: "inconclusive",
      outcome: "too-few-samples",
      shift: 0,
      effect: null,
      effectBasis: "hodges-lehmann",
    };
  }
  const sortedC = [...canary].sort((a, b) => a - b);
  const sortedB = [...baseline].sort((a, b) => a - b);
  const identical = sortedC.length === sortedB.length && sortedC.every((v, i) => v === sortedB[i]);
  const oneValue =
    sortedC[0] === sortedC[sortedC.length - 1] &&
    sortedC[0] === sortedB[0] &&
    sortedB[0] === sortedB[sortedB.length - 1];
  if (identical || oneValue) {
    return {
      ...base,
      verdict: "pass",
      outcome: "identical",
      shift: 0,
      effect: 0,
      effectBasis: "hodges-lehmann",
    };
  }

  const alternative: Alternative =
    opts.direction === "increase-is-bad"
      ? "greater"
      : opts.direction === "decrease-is-bad"
        ? "less"
        : "two-sided";
  const test = mannWhitneyU(canary, baseline, { alternative });
  const significant = test.pValue < alpha;

  let shift = hodgesLehmannShift(canary, baseline);
  let reference = Math.abs(base.baselineMedian);
  let effectBasis: "hodges-lehmann" | "mean" = "hodges-lehmann";
  if (significant && shift === 0) {
    shift = mean(canary) - mean(baseline);
    reference = Math.abs(mean(baseline));
    effectBasis = "mean";
  }
  const effect = reference > 0 ? shift / reference : null;
  const result = { ...base, test, shift, effect, effectBasis };

  if (!significant) return { ...result, verdict: "pass", outcome: "not-significant" };
  const bad =
    opts.direction === "increase-is-bad"
      ? shift > 0
      : opts.direction === "decrease-is-bad"
        ? shift < 0
        : shift !== 0;
  if (!bad) return { ...result, verdict: "pass", outcome: "significant-improvement" };
  const beyond = effect === null ? shift !== 0 : Math.abs(effect) > opts.tolerance;
  return beyond
    ? { ...result, verdict: "fail", outcome: "significant-beyond-tolerance" }
    : { ...result, verdict: "marginal", outcome: "significant-within-tolerance" };
}
