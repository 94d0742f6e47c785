import { describe, expect, it } from "vitest";
import {
  instantValue,
  PrometheusQueryError,
  rangeSamples,
} from "../../../../activities/metrics/prometheus-provider";
import {
  createMetricProviders,
  getMetricProvider,
  measureAll,
  UnknownMetricProviderError,
} from "../../../../activities/metrics/registry";
import { createRouterProvider, ROUTER_QUERIES } from "../../../../activities/metrics/router-provider";
import { RouterStats } from "../../../../infra/local/router/stats";
import type { MeasureRequest, MetricProvider } from "../../../../lib/drivers/metric-provider";

const ctx = {
  canary: { version: "v2", backend: "green" },
  baseline: { version: "v1", backend: "blue" },
  windowSeconds: 10,
  service: "shop",
  environment: "production",
} satisfies Omit<MeasureRequest, "metric">;

describe("Prometheus result shapes", () => {
  it("one series / scalar → value; empty vector → null; NaN and Inf → null", () => {
    expect(instantValue({ resultType: "vector", result: [{ metric: {}, value: [1, "0.25"] }] })).toBe(0.25);
    expect(instantValue({ resultType: "scalar", result: [1, "3"] })).toBe(3);
    expect(instantValue({ resultType: "vector", result: [] })).toBeNull();
    expect(instantValue({ resultType: "vector", result: [{ metric: {}, value: [1, "NaN"] }] })).toBeNull();
    expect(instantValue({ resultType: "vector", result: [{ metric: {}, value: [1, "+Inf"] }] })).toBeNull();
  });

  it("several series are ambiguous: an error telling to aggregate", () => {
    const two = {
      resultType: "vector" as const,
      result: [
        { metric: { version: "v1" }, value: [1, "1"] as [number, string] },
        { metric: { version: "v2" }, value: [1, "2"] as [number, string] },
      ],
    };
    expect(() => instantValue(two)).toThrow(PrometheusQueryError);
    expect(() => instantValue(two)).toThrow(/2 series \(\{version="v1"\}, \{version="v2"\}\); aggregate/);
    expect(() => instantValue({ resultType: "string", result: [1, "x"] })).toThrow(/a string/);
  });

  it("range results → finite samples in time order", () => {
    const m = {
      resultType: "matrix" as const,
      result: [
        {
          metric: {},
          values: [
            [1, "1"],
            [2, "NaN"],
            [3, "2.5"],
          ] as Array<[number, string]>,
        },
      ],
    };
    expect(rangeSamples(m)).toEqual([1, 2.5]);
    expect(rangeSamples({ resultType: "matrix", result: [] })).toEqual([]);
    expect(() => rangeSamples({ resultType: "vector", result: [] })).toThrow(/expected a matrix/);
  });
});

describe("router provider over RouterStats (injected clock)", () => {
  const setup = () => {
    let now = 1_000_000;
    const stats = new RouterStats({ now: () => now });
    const provider = createRouterProvider({ router: { stats: async (w) => stats.snapshot(w) } });
    return { stats, provider, advance: (ms: number) => (now += ms), at: () => now };
  };

  it("computes every query per side with request counts", async () => {
    const { stats, provider, at } = setup();
    const green = stats.for("green", "v2");
    const blue = stats.for("blue", "v1");
    for (let i = 0; i < 100; i++) {
      green.record({ kind: "response", status: i < 5 ? 500 : 200, latencyMs: 50 }, at());
      blue.record({ kind: "response", status: 200, latencyMs: 40 }, at());
    }
    const m = (query: string) =>
      provider.measure({ ...ctx, metric: { name: query.replace(/_/g, "-"), query } });
    expect(await m("error_rate")).toEqual({
      metric: "error-rate",
      canary: 0.05,
      baseline: 0,
      requests: { canary: 100, baseline: 100 },
    });
    expect((await m("latency_p95_ms")).canary).toBe(50);
    expect((await m("latency_p95_ms")).baseline).toBe(40);
    expect((await m("requests")).canary).toBe(100);
    for (const q of ROUTER_QUERIES) expect((await m(q)).error).toBeUndefined();
  });

  it("no traffic → null values and 0 requests (inconclusive), never 0% errors", async () => {
    const { provider } = setup();
    const r = await provider.measure({ ...ctx, metric: { name: "e", query: "error_rate" } });
    expect(r).toEqual({ metric: "e", canary: null, baseline: null, requests: { canary: 0, baseline: 0 } });
  });

  it("numbers of another version behind green are no data for this version, not an error", async () => {
    const { stats, provider, at } = setup();
    stats.for("green", "v1").record({ kind: "response", status: 500, latencyMs: 1 }, at());
    stats.for("blue", "v1").record({ kind: "response", status: 200, latencyMs: 1 }, at());
    const r = await provider.measure({ ...ctx, metric: { name: "x", query: "error_rate" } });
    expect(r).toEqual({ metric: "x", canary: null, baseline: 0, requests: { canary: 0, baseline: 1 } });
  });

  it("unknown query and unreachable router → error", async () => {
    const { provider } = setup();
    expect((await provider.measure({ ...ctx, metric: { name: "x", query: "errors_pct" } })).error).toMatch(
      /unknown router query "errors_pct"; known: error_rate/,
    );
    const down = createRouterProvider({
      router: {
        stats: async () => {
          throw new Error("connect ECONNREFUSED 127.0.0.1:1");
        },
      },
    });
    expect(await down.measure({ ...ctx, metric: { name: "x", query: "error_rate" } })).toEqual({
      metric: "x",
      canary: null,
      baseline: null,
      error: "router stats unavailable: connect ECONNREFUSED 127.0.0.1:1",
    });
  });

  it("first deployment (no baseline version): baseline null", async () => {
    const { stats, provider, at } = setup();
    stats.for("green", "v2").record({ kind: "response", status: 200, latencyMs: 5 }, at());
    const r = await provider.measure({
      ...ctx,
      baseline: { version: null, backend: "blue" },
      metric: { name: "e", query: "error_rate" },
    });
    expect(r).toEqual({ metric: "e", canary: 0, baseline: null, requests: { canary: 1, baseline: 0 } });
  });
});

describe("registry", () => {
  it("maps provider names; unknown and unconfigured providers fail clearly; cloudwatch plugs in", () => {
    const providers = createMetricProviders({
      router: { stats: async () => ({ backends: {} }) },
      prometheus: { url: "http://127.0.0.1:1" },
      httpJson: {},
    });
    expect(Object.keys(providers).sort()).toEqual(["http-json", "prometheus", "router"]);
    expect(getMetricProvider(providers, "prometheus").name).toBe("prometheus");
    expect(() => getMetricProvider(providers, "graphite")).toThrow(
      'unknown metric provider "graphite" (known: router, prometheus, http-json, cloudwatch); configured: router, prometheus, http-json',
    );
    expect(() => getMetricProvider(providers, "cloudwatch")).toThrow(
      /"cloudwatch" is not configured on this worker/,
    );
    const cloudwatch: MetricProvider = {
      name: "cloudwatch",
      measure: async (r) => ({ metric: r.metric.name, canary: 1, baseline: 1 }),
    };
    expect(getMetricProvider(createMetricProviders({ cloudwatch }), "cloudwatch")).toBe(cloudwatch);
    expect(() => getMetricProvider(createMetricProviders({}), "router")).toThrow(
      /"router" is not configured on this worker; configured: none/,
    );
    expect(() => getMetricProvider(providers, "toString")).toThrow(UnknownMetricProviderError);
    expect(() => getMetricProvider(providers, "toString")).toThrow(/unknown metric provider "toString"/);
  });

  it("measureAll keeps order, bounds concurrency and turns throws into error measurements", async () => {
    let inflight = 0;
    let peak = 0;
    const slow: MetricProvider = {
      name: "slow",
      async measure(r) {
        inflight++;
        peak = Math.max(peak, inflight);
        await new Promise((res) => setTimeout(res, 5));
        inflight--;
        if (r.metric.query === "boom") throw new Error("kaput");
        return { metric: "ignored", canary: Number(r.metric.query), baseline: 1 };
      },
    };
    const providers = createMetricProviders({ extra: { slow } });
    const metrics = [
      ...Array.from({ length: 10 }, (_, i) => ({ name: `m${i}`, provider: "slow", query: String(i) })),
      { name: "bad", provider: "slow", query: "boom" },
      { name: "nope", provider: "graphite", query: "x" },
    ];
    const out = await measureAll(providers, metrics, ctx, { concurrency: 3 });
    expect(out.map((m) => m.metric)).toEqual(metrics.map((m) => m.name));
    expect(out[4]).toEqual({ metric: "m4", canary: 4, baseline: 1 });
    expect(out[10]).toEqual({ metric: "bad", canary: null, baseline: null, error: "kaput" });
    expect(out[11]?.error).toMatch(/unknown metric provider "graphite"/);
    expect(peak).toBe(3);
  });
});
