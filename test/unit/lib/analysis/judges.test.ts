import { describe, expect, it } from "vitest";
import { inferUnit } from "../../../../lib/analysis/format";
import { judgeAll, judgeMetric } from "../../../../lib/analysis/judges";
import { type Measurement, type MetricSpecInput, MetricSpecSchema } from "../../../../lib/analysis/types";

const spec = (s: MetricSpecInput) => MetricSpecSchema.parse(s);

const errorRate = spec({
  name: "error-rate",
  provider: "router",
  query: "error_rate",
  minRequests: 50,
  critical: true,
  judge: { kind: "threshold", max: 0.01 },
});
const p95 = spec({
  name: "p95-latency",
  provider: "router",
  query: "latency_p95_ms",
  minRequests: 50,
  judge: { kind: "maxIncrease", fraction: 0.2 },
});
const conversion = spec({
  name: "checkout-conversion",
  provider: "prometheus",
  query:
    'sum(rate(checkout_total{version="$version"}[1m])) / sum(rate(cart_view_total{version="$version"}[1m]))',
  judge: { kind: "minRatioToBaseline", ratio: 0.95 },
});

const m = (
  metric: string,
  canary: number | null,
  baseline: number | null,
  extra: Partial<Measurement> = {},
) => ({
  metric,
  canary,
  baseline,
  requests: { canary: 500, baseline: 5000 },
  ...extra,
});

describe("threshold judge", () => {
  it("fails above max with the numbers in the reason", () => {
    const r = judgeMetric(errorRate, m("error-rate", 0.048, 0.002));
    expect(r).toMatchObject({
      metric: "error-rate",
      verdict: "fail",
      critical: true,
      value: 0.048,
      baseline: 0.002,
      threshold: "max 1%",
      reason: "error-rate 4.8% > max 1%",
      noData: false,
    });
  });

  it("passes at or below max", () => {
    expect(judgeMetric(errorRate, m("error-rate", 0.002, 0.001)).reason).toBe("error-rate 0.2% <= max 1%");
    expect(judgeMetric(errorRate, m("error-rate", 0.01, 0.001)).verdict).toBe("pass");
  });

  it("shows enough digits when a value only just exceeds the bound", () => {
    const r = judgeMetric(errorRate, m("error-rate", 0.0100001, 0));
    expect(r.verdict).toBe("fail");
    expect(r.reason).toBe("error-rate 1.00001% > max 1%");
  });

  it("fails below min, passes within [min, max]", () => {
    const avail = spec({
      name: "availability",
      provider: "router",
      query: "success_ratio",
      judge: { kind: "threshold", min: 0.99 },
    });
    expect(judgeMetric(avail, m("availability", 0.982, 0.999)).reason).toBe("availability 98.2% < min 99%");
    expect(judgeMetric(avail, m("availability", 0.995, 0.999)).reason).toBe("availability 99.5% >= min 99%");
    const rps = spec({
      name: "rps",
      provider: "router",
      query: "requests_per_second",
      judge: { kind: "threshold", min: 10, max: 500 },
    });
    const r = judgeMetric(rps, m("rps", 120, 130));
    expect(r.threshold).toBe("min 10, max 500");
    expect(r.reason).toBe("rps 120 within min 10 and max 500");
  });

  it("is inconclusive below minRequests (not a failure)", () => {
    const r = judgeMetric(errorRate, m("error-rate", 0.5, 0, { requests: { canary: 12, baseline: 900 } }));
    expect(r.verdict).toBe("inconclusive");
    expect(r.noData).toBe(true);
    expect(r.reason).toBe("error-rate: no data (canary served 12 requests < minRequests 50)");
  });

  it("only the canary needs minRequests for an absolute threshold", () => {
    const r = judgeMetric(errorRate, m("error-rate", 0.001, 0, { requests: { canary: 60, baseline: 0 } }));
    expect(r.verdict).toBe("pass");
  });

  it("is inconclusive on an empty or NaN result", () => {
    expect(judgeMetric(errorRate, m("error-rate", null, 0.001)).reason).toBe(
      "error-rate: no data (empty result for canary)",
    );
    const nan = judgeMetric(errorRate, m("error-rate", Number.NaN, 0.001));
    expect(nan.verdict).toBe("inconclusive");
    expect(nan.value).toBeNull();
    expect(nan.reason).toBe("error-rate: no data (canary value is NaN)");
  });

  it("fails on no data when the metric says noData: fail", () => {
    const strict = spec({ ...errorRate, noData: "fail" });
    const r = judgeMetric(strict, m("error-rate", null, null));
    expect(r.verdict).toBe("fail");
    expect(r.noData).toBe(true);
    expect(r.reason).toBe("error-rate: no data (empty result for canary) and noData is fail");
  });

  it("reports a provider error as error, not failure", () => {
    const r = judgeMetric(
      errorRate,
      m("error-rate", null, null, { error: "connect ECONNREFUSED 127.0.0.1:9090\n  at TCP" }),
    );
    expect(r.verdict).toBe("error");
    expect(r.reason).toBe("error-rate: provider router error: connect ECONNREFUSED 127.0.0.1:9090 at TCP");
  });

  it("bounds a huge provider error message", () => {
    const r = judgeMetric(errorRate, m("error-rate", null, null, { error: "x".repeat(10_000) }));
    expect(r.reason.length).toBeLessThanOrEqual(300);
  });

  it("treats a missing measurement as no data", () => {
    expect(judgeMetric(errorRate, undefined).reason).toBe("error-rate: no data (no measurement reported)");
  });
});

describe("maxIncrease judge", () => {
  it("fails beyond the allowed increase", () => {
    const r = judgeMetric(p95, m("p95-latency", 312, 200));
    expect(r).toMatchObject({
      verdict: "fail",
      value: 312,
      baseline: 200,
      threshold: "max +20% vs baseline",
      reason: "p95-latency 312ms is +56% vs baseline 200ms (max +20%)",
    });
  });

  it("passes within the allowed increase, and on a decrease", () => {
    expect(judgeMetric(p95, m("p95-latency", 210, 200)).reason).toBe(
      "p95-latency 210ms is +5% vs baseline 200ms (max +20%)",
    );
    expect(judgeMetric(p95, m("p95-latency", 240, 200)).verdict).toBe("pass"); // exactly +20%
    expect(judgeMetric(p95, m("p95-latency", 150, 200)).reason).toBe(
      "p95-latency 150ms is -25% vs baseline 200ms (max +20%)",
    );
  });

  it("needs the baseline's requests and value too", () => {
    expect(
      judgeMetric(p95, m("p95-latency", 300, 200, { requests: { canary: 900, baseline: 3 } })).reason,
    ).toBe("p95-latency: no data (baseline served 3 requests < minRequests 50)");
    expect(judgeMetric(p95, m("p95-latency", 300, null)).reason).toBe(
      "p95-latency: no data (empty result for baseline)",
    );
  });

  it("is inconclusive against a zero baseline, passes zero vs zero", () => {
    const errInc = spec({
      name: "5xx-rate",
      provider: "router",
      query: "error_rate",
      judge: { kind: "maxIncrease", fraction: 0.2 },
    });
    const r = judgeMetric(errInc, m("5xx-rate", 0.003, 0));
    expect(r.verdict).toBe("inconclusive");
    expect(r.noData).toBe(false);
    expect(r.reason).toBe(
      "5xx-rate 0.3% vs baseline 0%: relative increase from a zero baseline is undefined (max +20%)",
    );
    expect(judgeMetric(errInc, m("5xx-rate", 0, 0)).verdict).toBe("pass");
  });

  it("shows seconds-valued latency in ms", () => {
    const p99 = spec({
      name: "p99-latency",
      provider: "prometheus",
      query: "histogram_quantile(0.99, sum(rate(http_request_duration_seconds_bucket[1m])) by (le))",
      judge: { kind: "maxIncrease", fraction: 0.1 },
    });
    expect(judgeMetric(p99, m("p99-latency", 0.45, 0.3)).reason).toBe(
      "p99-latency 450ms is +50% vs baseline 300ms (max +10%)",
    );
  });

  it("error and noData: fail paths", () => {
    expect(judgeMetric(p95, m("p95-latency", null, null, { error: "timeout" })).verdict).toBe("error");
    const strict = spec({ ...p95, noData: "fail" });
    expect(judgeMetric(strict, m("p95-latency", 300, null)).verdict).toBe("fail");
  });
});

describe("minRatioToBaseline judge", () => {
  it("fails below the ratio", () => {
    const r = judgeMetric(conversion, m("checkout-conversion", 0.0273, 0.03));
    expect(r).toMatchObject({
      verdict: "fail",
      threshold: "min 0.95 of baseline",
      reason: "checkout-conversion ratio 0.91 < 0.95 of baseline (2.73% vs 3%)",
    });
  });

  it("passes at or above the ratio", () => {
    expect(judgeMetric(conversion, m("checkout-conversion", 0.0294, 0.03)).reason).toBe(
      "checkout-conversion ratio 0.98 >= 0.95 of baseline (2.94% vs 3%)",
    );
  });

  it("is inconclusive with a zero baseline or no data; noData: fail fails", () => {
    const zero = judgeMetric(conversion, m("checkout-conversion", 0.02, 0));
    expect(zero.verdict).toBe("inconclusive");
    expect(zero.reason).toBe(
      "checkout-conversion baseline is 0%: ratio to baseline undefined (min 0.95 of baseline)",
    );
    expect(judgeMetric(conversion, m("checkout-conversion", null, 0.03)).verdict).toBe("inconclusive");
    const strict = spec({ ...conversion, noData: "fail" });
    expect(judgeMetric(strict, m("checkout-conversion", null, 0.03)).verdict).toBe("fail");
  });

  it("provider error", () => {
    const r = judgeMetric(
      conversion,
      m("checkout-conversion", null, null, { error: "503 Service Unavailable" }),
    );
    expect(r.verdict).toBe("error");
    expect(r.reason).toBe("checkout-conversion: provider prometheus error: 503 Service Unavailable");
  });
});

describe("mannWhitney judge", () => {
  // latency_20x20 from mann-whitney.test.ts (scipy 'greater': U = 317, p = 0.0008122175512774208)
  const canary = [
    224.7, 217.1, 233.7, 185.3, 237.1, 222.0, 211.8, 232.5, 181.2, 226.0, 211.7, 240.2, 241.1, 206.8, 206.7,
    193.2, 210.3, 238.0, 251.4, 235.7,
  ];
  const baseline = [
    200.9, 178.3, 204.9, 179.6, 206.0, 194.9, 221.4, 205.1, 234.2, 189.8, 218.9, 205.6, 242.4, 150.9, 221.9,
    174.4, 178.3, 199.5, 162.2, 170.1,
  ];
  const mw = (extra: Partial<MetricSpecInput> = {}, judge: Record<string, unknown> = {}) =>
    spec({
      name: "latency",
      provider: "prometheus",
      query: "latency_ms",
      judge: { kind: "mannWhitney", tolerance: 0.1, confidence: 0.95, ...judge },
      ...extra,
    });
  const samples = (c: number[], b: number[], extra: Partial<Measurement> = {}): Measurement => ({
    metric: "latency",
    canary: null,
    baseline: null,
    canarySamples: c,
    baselineSamples: b,
    ...extra,
  });

  it("fails a significant increase beyond tolerance, with stats", () => {
    const r = judgeMetric(mw(), samples(canary, baseline));
    expect(r.verdict).toBe("fail");
    expect(r.value).toBeCloseTo(223.35, 10);
    expect(r.baseline).toBeCloseTo(200.2, 10);
    expect(r.threshold).toBe("Mann-Whitney: increase beyond 10% at 95% confidence");
    expect(r.reason).toBe(
      "latency median 223ms vs baseline 200ms: shift +24.4ms (+12.2%) beyond tolerance 10%, p=0.00081 < 0.05 (20 vs 20 samples)",
    );
    expect(r.stats).toMatchObject({ u: 317, method: "asymptotic", nCanary: 20, nBaseline: 20 });
    expect(r.stats!.pValue).toBeCloseTo(0.0008122175512774208, 15);
  });

  it("marginal when significant but within tolerance", () => {
    const r = judgeMetric(mw({}, { tolerance: 0.25 }), samples(canary, baseline));
    expect(r.verdict).toBe("marginal");
    expect(r.reason).toBe(
      "latency median 223ms vs baseline 200ms: shift +24.4ms (+12.2%) within tolerance 25%, significant at p=0.00081 < 0.05 (20 vs 20 samples)",
    );
  });

  it("passes when there is no significant increase", () => {
    const r = judgeMetric(mw(), samples(baseline, canary));
    expect(r.verdict).toBe("pass");
    expect(r.reason).toBe(
      "latency median 200ms vs baseline 223ms: no significant increase (p=1 >= 0.05, 20 vs 20 samples)",
    );
  });

  it("is inconclusive with too few samples (non-finite samples dropped), fails with noData: fail", () => {
    const few = samples([1, 2, 3, Number.NaN, 4], baseline);
    const r = judgeMetric(mw(), few);
    expect(r.verdict).toBe("inconclusive");
    expect(r.reason).toBe("latency: no data (4 canary / 20 baseline samples, minSamples 5)");
    expect(judgeMetric(mw({ noData: "fail" }), few).verdict).toBe("fail");
    expect(judgeMetric(mw(), samples([], [])).verdict).toBe("inconclusive");
  });

  it("respects minRequests and provider errors", () => {
    expect(
      judgeMetric(
        mw({ minRequests: 100 }),
        samples(canary, baseline, { requests: { canary: 40, baseline: 900 } }),
      ).reason,
    ).toBe("latency: no data (canary served 40 requests < minRequests 100)");
    expect(judgeMetric(mw(), samples(canary, baseline, { error: "bad query" })).verdict).toBe("error");
  });

  it("either direction reports a difference", () => {
    const r = judgeMetric(mw({}, { direction: "either" }), samples(baseline, canary));
    expect(r.verdict).toBe("fail");
    expect(r.reason).toContain("shift -24.4ms (-10.9%) beyond tolerance 10%, p=0.0016 < 0.05");
  });
});

describe("judgeAll", () => {
  it("judges every spec in order; a missing measurement is no data; unknown metrics ignored", () => {
    const results = judgeAll(
      [errorRate, p95, conversion],
      [m("p95-latency", 312, 200), m("unknown", 1, 1), m("error-rate", 0.001, 0.001)],
    );
    expect(results.map((r) => [r.metric, r.verdict])).toEqual([
      ["error-rate", "pass"],
      ["p95-latency", "fail"],
      ["checkout-conversion", "inconclusive"],
    ]);
  });
});

describe("spec schema and units", () => {
  it("applies defaults and rejects an empty threshold", () => {
    const s = spec({ name: "x", provider: "p", query: "q", judge: { kind: "mannWhitney" } });
    expect(s.noData).toBe("inconclusive");
    expect(s.critical).toBe(false);
    expect(s.judge).toEqual({
      kind: "mannWhitney",
      tolerance: 0.1,
      confidence: 0.95,
      direction: "increase-is-bad",
      minSamples: 5,
    });
    expect(() => spec({ name: "x", provider: "p", query: "q", judge: { kind: "threshold" } })).toThrow(
      /min or max/,
    );
    expect(() =>
      spec({ name: "bad name!", provider: "p", query: "q", judge: { kind: "threshold", max: 1 } }),
    ).toThrow();
  });

  it("infers units from name, then query", () => {
    expect(inferUnit({ name: "error-rate", query: "error_rate" })).toBe("ratio");
    expect(inferUnit({ name: "p95-latency", query: "latency_p95_ms" })).toBe("ms");
    expect(inferUnit({ name: "p99-latency", query: "http_request_duration_seconds_bucket" })).toBe("s");
    expect(inferUnit({ name: "checkout-conversion", query: "sum(rate(a[1m]))/sum(rate(b[1m]))" })).toBe(
      "ratio",
    );
    expect(inferUnit({ name: "request-rate", query: "sum(rate(http_requests_total[1m]))" })).toBe("number");
    expect(inferUnit({ name: "rps", query: "requests_per_second" })).toBe("number");
    expect(inferUnit({ name: "rps", query: "x", unit: "ms" })).toBe("ms");
  });
});
