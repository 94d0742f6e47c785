import { describe, expect, it } from "vitest";
import {
  concludeStep,
  initialAnalysisState,
  recordInterval,
  resumeAnalysis,
} from "../../../../lib/analysis/aggregate";
import { judgeAll } from "../../../../lib/analysis/judges";
import {
  type AnalysisState,
  AnalysisStateSchema,
  type Measurement,
  type MetricResult,
  type MetricSpec,
  MetricSpecSchema,
} from "../../../../lib/analysis/types";

const errorRateSpec = (critical = false): MetricSpec =>
  MetricSpecSchema.parse({
    name: "error-rate",
    provider: "prometheus",
    query: "error_rate",
    minRequests: 50,
    critical,
    judge: { kind: "threshold", max: 0.01 },
  });

const ok = { requests: { canary: 500, baseline: 5000 } };
const errM = (canary: number | null, extra: Partial<Measurement> = {}): Measurement => ({
  metric: "error-rate",
  canary,
  baseline: 0.001,
  ...ok,
  ...extra,
});

/** Run measurements through judges and the reducer, interval by interval. */
function run(
  specs: MetricSpec[],
  intervals: Measurement[][],
  limits: Parameters<typeof initialAnalysisState>[0] = {},
  ctx: { stepIndex?: number; weightPercent?: number; startMs?: number } = {},
  from?: AnalysisState,
) {
  let state = from ?? initialAnalysisState(limits);
  const steps: ReturnType<typeof recordInterval>[] = [];
  intervals.forEach((ms, i) => {
    const r = recordInterval(state, judgeAll(specs, ms), {
      stepIndex: ctx.stepIndex ?? 1,
      weightPercent: ctx.weightPercent ?? 10,
      atMs: (ctx.startMs ?? 0) + i * 10_000,
    });
    state = r.state;
    steps.push(r);
  });
  return { state, steps, last: steps[steps.length - 1]! };
}

describe("failureLimit", () => {
  it("fails only when failures exceed the limit, naming metric, numbers, traffic and samples", () => {
    const { steps, last } = run([errorRateSpec()], [[errM(0.048)], [errM(0.05)], [errM(0.048)]], {
      failureLimit: 2,
    });
    expect(steps.map((s) => s.decision)).toEqual(["continue", "continue", "fail"]);
    expect(steps[0]!.verdict.line).toBe(
      "1 metric at 10% traffic: 1 fail; error-rate 4.8% > max 1% (1 of 1 sample, failureLimit 2)",
    );
    expect(last.verdict).toMatchObject({
      decision: "fail",
      metric: "error-rate",
      line: "error-rate 4.8% > max 1% at 10% traffic (3 of 3 samples)",
      stepIndex: 1,
      weightPercent: 10,
      atMs: 20_000,
    });
    expect(last.state.status).toBe("failed");
    expect(last.state.decisions).toHaveLength(1);
  });

  it("counts failures per step: a new step starts from zero", () => {
    const a = run([errorRateSpec()], [[errM(0.05)]], { failureLimit: 1 }, { stepIndex: 1, weightPercent: 1 });
    expect(a.last.decision).toBe("continue");
    const b = run([errorRateSpec()], [[errM(0.05)]], {}, { stepIndex: 2, weightPercent: 10 }, a.state);
    expect(b.last.decision).toBe("continue");
    expect(b.state.metrics["error-rate"]!.step.fail).toBe(1);
    expect(b.state.metrics["error-rate"]!.total.fail).toBe(2);
    const c = run([errorRateSpec()], [[errM(0.05)]], {}, { stepIndex: 2, weightPercent: 10 }, b.state);
    expect(c.last.decision).toBe("fail");
    expect(c.last.verdict.line).toBe("error-rate 5% > max 1% at 10% traffic (2 of 2 samples)");
  });

  it("failed is terminal: later healthy intervals keep the fail verdict", () => {
    const { steps } = run([errorRateSpec()], [[errM(0.05)], [errM(0.001)], [errM(0.001)]]);
    expect(steps.map((s) => s.decision)).toEqual(["fail", "fail", "fail"]);
    expect(steps[2]!.verdict.line).toBe("error-rate 5% > max 1% at 10% traffic (1 of 1 sample)");
    expect(steps[2]!.state.metrics["error-rate"]!.step.samples).toBe(3);
  });

  it("noData: fail metrics fail on missing data", () => {
    const spec = MetricSpecSchema.parse({ ...errorRateSpec(), noData: "fail" });
    const { last } = run([spec], [[errM(null)]]);
    expect(last.decision).toBe("fail");
    expect(last.verdict.line).toBe(
      "error-rate: no data (empty result for canary) and noData is fail at 10% traffic (1 of 1 sample)",
    );
  });
});

describe("critical metrics", () => {
  it("fail the step at the first failure whatever failureLimit says", () => {
    const p95 = MetricSpecSchema.parse({
      name: "p95-latency",
      provider: "router",
      query: "latency_p95_ms",
      judge: { kind: "maxIncrease", fraction: 0.2 },
    });
    const lat = (c: number): Measurement => ({ metric: "p95-latency", canary: c, baseline: 200, ...ok });
    const { steps, last } = run(
      [p95, errorRateSpec(true)],
      [
        [lat(210), errM(0.002)],
        [lat(312), errM(0.048)],
      ],
      { failureLimit: 5 },
    );
    expect(steps[0]!.decision).toBe("continue");
    expect(last.decision).toBe("fail");
    // the critical metric is named first even though p95-latency comes first in spec order
    expect(last.verdict.line).toBe("error-rate 4.8% > max 1% at 10% traffic (1 of 2 samples, critical)");
  });

  it("a non-critical failure beyond the limit reports the others failing too", () => {
    const specs = ["a-error-rate", "b-error-rate"].map((name) =>
      MetricSpecSchema.parse({
        name,
        provider: "router",
        query: "error_rate",
        judge: { kind: "threshold", max: 0.01 },
      }),
    );
    const { last } = run(specs, [
      [
        { metric: "a-error-rate", canary: 0.02, baseline: 0 },
        { metric: "b-error-rate", canary: 0.03, baseline: 0 },
      ],
    ]);
    expect(last.verdict.line).toBe(
      "a-error-rate 2% > max 1% at 10% traffic (1 of 1 sample); also failing: b-error-rate",
    );
  });
});

describe("consecutiveErrorLimit", () => {
  const down = (i: number) => [errM(null, { error: `connect ECONNREFUSED 127.0.0.1:9090 (#${i})` })];

  it("pauses (never fails) when provider errors exceed the limit, even for a critical metric", () => {
    const { steps, last } = run([errorRateSpec(true)], [down(1), down(2), down(3)], {
      consecutiveErrorLimit: 2,
    });
    expect(steps.map((s) => s.decision)).toEqual(["continue", "continue", "pause"]);
    expect(last.verdict.line).toBe(
      "metrics provider unavailable: error-rate: provider prometheus error: connect ECONNREFUSED 127.0.0.1:9090 (#3) at 10% traffic (3 of 3 samples failed in a row)",
    );
    expect(last.state.status).toBe("paused");
    expect(last.state.metrics["error-rate"]!.step.fail).toBe(0);
  });

  it("any non-error result resets the run of errors", () => {
    const { steps } = run([errorRateSpec()], [down(1), down(2), [errM(0.001)], down(3), down(4)], {
      consecutiveErrorLimit: 2,
    });
    expect(steps.map((s) => s.decision)).toEqual([
      "continue",
      "continue",
      "continue",
      "continue",
      "continue",
    ]);
  });

  it("resumeAnalysis clears the run so the limit applies afresh", () => {
    const a = run([errorRateSpec()], [down(1), down(2)], { consecutiveErrorLimit: 1 });
    expect(a.last.decision).toBe("pause");
    const resumed = resumeAnalysis(a.state);
    expect(resumed.status).toBe("running");
    const b = run([errorRateSpec()], [down(3)], {}, {}, resumed);
    expect(b.last.decision).toBe("continue");
    const c = run([errorRateSpec()], [down(4)], {}, {}, b.state);
    expect(c.last.decision).toBe("pause");
  });
});

describe("inconclusiveLimit", () => {
  const thin = [errM(0.5, { requests: { canary: 12, baseline: 900 } })];

  it("pauses after more than inconclusiveLimit inconclusive results in a row", () => {
    const { steps, last } = run([errorRateSpec()], [thin, thin, thin], { inconclusiveLimit: 2 });
    expect(steps.map((s) => s.decision)).toEqual(["continue", "continue", "pause"]);
    expect(last.verdict.line).toBe(
      "analysis inconclusive: error-rate: no data (canary served 12 requests < minRequests 50) at 10% traffic (3 of 3 samples inconclusive in a row)",
    );
    expect(last.state.metrics["error-rate"]!.step.fail).toBe(0);
  });

  it("warm-up without data does not pause once data arrives (a conclusive result resets the run)", () => {
    const { steps } = run([errorRateSpec()], [thin, thin, [errM(0.001)], thin, thin], {
      inconclusiveLimit: 2,
    });
    expect(steps.map((s) => s.decision)).toEqual([
      "continue",
      "continue",
      "continue",
      "continue",
      "continue",
    ]);
  });
});

describe("concludeStep", () => {
  it("continues when every metric had a conclusive measurement", () => {
    const { state } = run([errorRateSpec()], [[errM(0.001)], [errM(0.02)]], { failureLimit: 1 });
    const end = concludeStep(state, 60_000);
    expect(end.decision).toBe("continue");
    expect(end.verdict.line).toBe(
      "step passed at 10% traffic: 1 metrics, 2 samples (1 failed within failureLimit)",
    );
  });

  it("pauses when a metric never got a conclusive measurement in the step", () => {
    const thin = errM(0.5, { requests: { canary: 12, baseline: 900 } });
    const { state } = run(
      [errorRateSpec()],
      [[thin], [thin]],
      { inconclusiveLimit: 5 },
      { weightPercent: 1 },
    );
    const end = concludeStep(state, 60_000);
    expect(end.decision).toBe("pause");
    expect(end.verdict.line).toBe(
      "error-rate had no conclusive measurement at 1% traffic (0 of 2 samples conclusive; last: error-rate: no data (canary served 12 requests < minRequests 50))",
    );
    expect(end.state.status).toBe("paused");
  });

  it("passes fail and pause through, and pauses when nothing was measured", () => {
    const failed = run([errorRateSpec()], [[errM(0.5)]]).state;
    expect(concludeStep(failed, 1).decision).toBe("fail");
    expect(concludeStep(initialAnalysisState(), 1).verdict.line).toBe("no analysis intervals were recorded");
  });
});

describe("bounded log", () => {
  it("keeps the last logPerMetric entries, the latest failure and full counters", () => {
    const intervals = Array.from({ length: 12 }, (_, i) => [errM(i === 0 ? 0.05 : 0.001)]);
    const { state } = run([errorRateSpec()], intervals, { logPerMetric: 5, failureLimit: 3 });
    const ms = state.metrics["error-rate"]!;
    expect(ms.log).toHaveLength(5);
    expect(ms.log.map((e) => e.atMs)).toEqual([70_000, 80_000, 90_000, 100_000, 110_000]);
    expect(ms.lastFailure).toMatchObject({ atMs: 0, reason: "error-rate 5% > max 1%" });
    expect(ms.total).toEqual({ samples: 12, pass: 11, marginal: 0, fail: 1, inconclusive: 0, error: 0 });
  });

  it("keeps at most MAX_DECISIONS decisions", () => {
    let state = initialAnalysisState({ consecutiveErrorLimit: 0 });
    for (let i = 0; i < 30; i++) {
      state = recordInterval(state, judgeAll([errorRateSpec()], [errM(null, { error: "down" })]), {
        stepIndex: i,
        weightPercent: 10,
        atMs: i,
      }).state;
      state = resumeAnalysis(state);
    }
    expect(state.decisions).toHaveLength(20);
    expect(state.decisions[19]!.atMs).toBe(29);
  });
});

/** N metrics of mixed kinds, and measurements for them. */
function manyMetrics(n: number): MetricSpec[] {
  return Array.from({ length: n }, (_, i) => {
    const kind = i % 4;
    const name = `m${String(i).padStart(2, "0")}-${["error-rate", "latency", "conversion", "cpu"][kind]}`;
    const judge =
      kind === 0
        ? { kind: "threshold", max: 0.01 }
        : kind === 1
          ? { kind: "maxIncrease", fraction: 0.2 }
          : kind === 2
            ? { kind: "minRatioToBaseline", ratio: 0.95 }
            : { kind: "mannWhitney", tolerance: 0.1, confidence: 0.95 };
    return MetricSpecSchema.parse({ name, provider: "prometheus", query: `q${i}`, judge });
  });
}

function healthy(specs: MetricSpec[], interval: number, degrade?: string): Measurement[] {
  return specs.map((s) => {
    const bad = s.name === degrade;
    switch (s.judge.kind) {
      case "threshold":
        return { metric: s.name, canary: bad ? 0.05 : 0.002, baseline: 0.002 };
      case "maxIncrease":
        return { metric: s.name, canary: bad ? 400 : 205, baseline: 200 };
      case "minRatioToBaseline":
        return { metric: s.name, canary: bad ? 0.02 : 0.03, baseline: 0.03 };
      default: {
        // deterministic, interleaved samples: no significant difference unless degraded
        const base = Array.from({ length: 10 }, (_, k) => 50 + ((k * 7 + interval) % 10));
        const canary = base.map((v) => (bad ? v * 1.5 : v + 0.5));
        return { metric: s.name, canary: null, baseline: null, canarySamples: canary, baselineSamples: base };
      }
    }
  });
}

describe("many metrics", () => {
  it("20 metrics: all pass, then one degrades and is named in the verdict", () => {
    const specs = manyMetrics(20);
    const ok5 = Array.from({ length: 5 }, (_, i) => healthy(specs, i));
    const a = run(specs, ok5, { failureLimit: 1 }, { weightPercent: 10 });
    expect(a.steps.every((s) => s.decision === "continue")).toBe(true);
    expect(a.last.verdict.line).toBe("20 metrics at 10% traffic: 20 pass");
    const b = run(
      specs,
      [healthy(specs, 5, "m13-latency"), healthy(specs, 6, "m13-latency")],
      {},
      {},
      a.state,
    );
    expect(b.steps.map((s) => s.decision)).toEqual(["continue", "fail"]);
    expect(b.last.verdict.metric).toBe("m13-latency");
    expect(b.last.verdict.line).toBe(
      "m13-latency 400ms is +100% vs baseline 200ms (max +20%) at 10% traffic (2 of 7 samples)",
    );
  });

  it("20 metrics: a Mann-Whitney metric degrades", () => {
    const specs = manyMetrics(20);
    const { last } = run(specs, [healthy(specs, 0, "m03-cpu")]);
    expect(last.decision).toBe("fail");
    expect(last.verdict.metric).toBe("m03-cpu");
    // canary = baseline × 1.5: medians 81.75 / 54.5, Hodges–Lehmann shift 27.25 = +50%
    expect(last.verdict.line).toBe(
      "m03-cpu median 81.8 vs baseline 54.5: shift +27.3 (+50%) beyond tolerance 10%, p<0.0001 < 0.05 (10 vs 10 samples) at 10% traffic (1 of 1 sample)",
    );
  });

  it("50 metrics over 60 intervals: correct, bounded, JSON-safe, deterministic, no input mutation", () => {
    const specs = manyMetrics(50);
    const intervals = Array.from({ length: 60 }, (_, i) => healthy(specs, i));
    const { state, steps } = run(specs, intervals);
    expect(steps.every((s) => s.decision === "continue")).toBe(true);
    expect(Object.keys(state.metrics)).toHaveLength(50);
    // per-metric cap = min(50, floor(1000 / 50)) = 20
    let entries = 0;
    for (const ms of Object.values(state.metrics)) {
      expect(ms.log).toHaveLength(20);
      expect(ms.total.samples).toBe(60);
      entries += ms.log.length;
    }
    expect(entries).toBe(1000);
    const json = JSON.stringify(state);
    expect(json.length).toBeLessThan(300_000);
    expect(AnalysisStateSchema.parse(JSON.parse(json))).toEqual(state);

    const again = run(specs, intervals);
    expect(again.state).toEqual(state);

    const frozen = deepFreeze(structuredClone(state));
    const results: MetricResult[] = judgeAll(specs, healthy(specs, 99));
    expect(() => recordInterval(frozen, results, { stepIndex: 2, weightPercent: 50, atMs: 1 })).not.toThrow();
    expect(concludeStep(state, 1).verdict.line).toBe("step passed at 10% traffic: 50 metrics, 3000 samples");
  });
});

function deepFreeze<T>(o: T): T {
  if (o && typeof o === "object") {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}
