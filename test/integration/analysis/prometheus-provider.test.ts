/**
 * The Prometheus provider against a REAL Prometheus (the Debian binary that
 * `npm run setup` resolved), started by this file on a free loopback port,
 * scraping a small prom-client app every second. The app exposes counters for
 * three versions with known rates, so every number below is known in advance:
 *
 *   v1 (baseline)        40 req/s, 1% errors, p95 gauge ≈ 100 ms
 *   v2 (bad canary)      10 req/s, 5% errors, p95 gauge ≈ 300 ms
 *   v3 (healthy canary)  10 req/s, 1% errors, p95 gauge ≈ 100 ms
 */
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createPrometheusProvider } from "../../../activities/metrics/prometheus-provider";
import { type PrometheusServer, startPrometheusServer } from "../../../dev/services/prometheus-server";
import { initialAnalysisState, judgeAll, recordInterval, resumeAnalysis } from "../../../lib/analysis";
import type { Decision } from "../../../lib/analysis/types";
import { freePort, portIsFree } from "../../../lib/runtime/free-port";
import { isAlive } from "../../../lib/runtime/process-group";
import { requirePrometheus } from "../../../lib/runtime/toolchain-manifest";
import { eventually, judge, type MetricsApp, request, spec, startMetricsApp } from "./helpers";

const ERR =
  'sum(rate(shop_http_requests_total{service="$service",version="$version",code="500"}[$interval]))' +
  ' / sum(rate(shop_http_requests_total{service="$service",version="$version"}[$interval]))';
const RPS = 'sum(rate(shop_http_requests_total{service="$service",version="$version"}[$interval]))';
const LAT = 'max(shop_latency_p95_ms{service="$service",version="$version"})';
const REQUESTS = 'sum(increase(shop_http_requests_total{service="$service",version="$version"}[$interval]))';

let app: MetricsApp;
let prom: PrometheusServer;

const provider = () => createPrometheusProvider({ url: prom.url, requestsQuery: REQUESTS, timeoutMs: 3000 });

const within = (actual: number | null | undefined, expected: number, relative = 0.03) => {
  expect(actual).not.toBeNull();
  expect(Math.abs((actual as number) - expected)).toBeLessThanOrEqual(expected * relative);
};

beforeAll(async () => {
  app = await startMetricsApp({
    v1: { rps: 40, errorRatio: 0.01, latencyMs: 100 },
    v2: { rps: 10, errorRatio: 0.05, latencyMs: 300 },
    v3: { rps: 10, errorRatio: 0.01, latencyMs: 100 },
  });
  prom = await startPrometheusServer({
    binary: requirePrometheus().path,
    storageDir: path.join(inject("testStateDir"), `prometheus-provider-${process.pid}`),
    // the service label comes from the scrape config, as it would in production
    scrape: [{ job: "shop", targets: [app.target], labels: { service: "shop" } }],
  });
  // 11 scrapes ≈ 10 s of history: a full $interval window for rate() and range samples.
  await eventually(
    async () => {
      const r = await fetch(
        `${prom.url}/api/v1/query?query=${encodeURIComponent('count_over_time(up{job="shop"}[1m])')}`,
      );
      const body = (await r.json()) as { data: { result: Array<{ value: [number, string] }> } };
      return Number(body.data.result[0]?.value[1] ?? 0) >= 11;
    },
    30_000,
    "11 scrapes of the test app",
  );
}, 60_000);

afterAll(async () => {
  await prom?.stop();
  await app?.close();
});

describe("prometheus provider on a real Prometheus", () => {
  it("measures canary and baseline with the same query, templated per version", async () => {
    const p = provider();
    const err = await p.measure(
      request(spec({ name: "error-rate", query: ERR, judge: { kind: "threshold", max: 0.01 } })),
    );
    expect(err.error).toBeUndefined();
    within(err.canary, 0.05);
    within(err.baseline, 0.01);
    // requests over the 10 s window: 10 req/s vs 40 req/s
    within(err.requests?.canary, 100, 0.06);
    within(err.requests?.baseline, 400, 0.06);

    const rps = await p.measure(
      request(spec({ name: "rps", query: RPS, judge: { kind: "threshold", min: 1 } })),
    );
    within(rps.canary, 10);
    within(rps.baseline, 40);
  });

  it("lib/analysis judges the measurements: 5% errors fail max 1%, a healthy version passes", async () => {
    const p = provider();
    const errSpec = spec({
      name: "error-rate",
      query: ERR,
      minRequests: 50,
      judge: { kind: "threshold", max: 0.02 },
    });
    const bad = judge(errSpec, await p.measure(request(errSpec)));
    expect(bad.verdict).toBe("fail");
    expect(bad.reason).toMatch(/^error-rate 5(\.\d+)?% > max 2%/);
    const good = judge(errSpec, await p.measure(request(errSpec, { canaryVersion: "v3" })));
    expect(good.verdict).toBe("pass");

    const latSpec = spec({
      name: "p95-latency",
      query: LAT,
      unit: "ms",
      judge: { kind: "maxIncrease", fraction: 0.2 },
    });
    const slow = judge(latSpec, await p.measure(request(latSpec)));
    expect(slow.verdict).toBe("fail");
    expect(slow.value).toBeGreaterThan(250);
    expect(slow.baseline).toBeLessThan(110);
  });

  it("range query samples feed the Mann-Whitney judge", async () => {
    const p = provider();
    const mw = spec({
      name: "p95-latency-mw",
      query: LAT,
      unit: "ms",
      judge: { kind: "mannWhitney", tolerance: 0.1, confidence: 0.95, minSamples: 5 },
    });
    const m = await p.measure(request(mw));
    expect(m.error).toBeUndefined();
    expect(m.canarySamples?.length).toBeGreaterThanOrEqual(8);
    expect(m.baselineSamples?.length).toBeGreaterThanOrEqual(8);
    for (const s of m.canarySamples ?? []) expect(s).toBeGreaterThan(280);
    for (const s of m.baselineSamples ?? []) expect(s).toBeLessThan(110);
    const r = judge(mw, m);
    expect(r.verdict).toBe("fail");
    expect(r.stats?.pValue).toBeLessThan(0.05);
    const healthy = judge(mw, await p.measure(request(mw, { canaryVersion: "v3" })));
    expect(healthy.verdict).toBe("pass");
  });

  it("an empty result is no data → inconclusive (or fail with noData: fail), never an error", async () => {
    const p = provider();
    const s = spec({ name: "error-rate", query: ERR, judge: { kind: "threshold", max: 0.01 } });
    const m = await p.measure(request(s, { canaryVersion: "v9-never-deployed" }));
    expect(m.error).toBeUndefined();
    expect(m.canary).toBeNull();
    expect(m.baseline).not.toBeNull();
    expect(m.requests).toEqual({ canary: 0, baseline: expect.any(Number) });
    const r = judge(s, m);
    expect(r.verdict).toBe("inconclusive");
    expect(r.noData).toBe(true);
    expect(judge(spec({ ...s, noData: "fail" }), m).verdict).toBe("fail");
  });

  it("first deployment: no baseline version → baseline null, $baseline_version is an error", async () => {
    const p = provider();
    const s = spec({ name: "rps", query: RPS, judge: { kind: "threshold", min: 1 } });
    const m = await p.measure(request(s, { baselineVersion: null }));
    within(m.canary, 10);
    expect(m.baseline).toBeNull();
    const bad = await p.measure(
      request(spec({ ...s, query: 'sum(up{version="$baseline_version"})' }), { baselineVersion: null }),
    );
    expect(bad.error).toMatch(/\$baseline_version has no value/);
  });

  it("bad PromQL, ambiguous results and an unreachable server are errors", async () => {
    const p = provider();
    const base = { judge: { kind: "threshold" as const, max: 1 } };
    const syntax = await p.measure(request(spec({ name: "bad", query: "sum(rate(", ...base })));
    expect(syntax.error).toMatch(/HTTP 400: bad_data/);
    const many = await p.measure(
      request(spec({ name: "many", query: 'shop_http_requests_total{version="$version"}', ...base })),
    );
    expect(many.error).toMatch(/returned 2 series .*aggregate it to one series/);
    const typo = await p.measure(request(spec({ name: "typo", query: 'up{version="$verison"}', ...base })));
    expect(typo.error).toMatch(/unknown template variable \$verison/);

    const nobody = createPrometheusProvider({ url: `http://127.0.0.1:${await freePort()}` });
    const down = await nobody.measure(request(spec({ name: "down", query: RPS, ...base })));
    expect(down).toEqual({
      metric: "down",
      canary: null,
      baseline: null,
      error: expect.stringMatching(/unreachable: .*ECONNREFUSED/),
    });
    expect(judge(spec({ name: "down", query: RPS, ...base }), down).verdict).toBe("error");

    // a server that accepts and never answers: an error after timeoutMs, not a hung analysis
    const stalled = createPrometheusProvider({ url: `${app.url}/hang`, timeoutMs: 300 });
    // The timeout's own message proves the measure gave up (a hang would time the test out).
    const hung = await stalled.measure(request(spec({ name: "hung", query: RPS, ...base })));
    expect(hung.error).toMatch(/unreachable: no answer within 300 ms/);
  });

  it("Prometheus stopped mid-analysis: errors pause the analysis (consecutiveErrorLimit), a healthy version is not failed", async () => {
    const p = provider();
    const specs = [
      spec({
        name: "error-rate",
        query: ERR,
        critical: true,
        minRequests: 50,
        judge: { kind: "threshold", max: 0.02 },
      }),
      spec({ name: "p95-latency", query: LAT, unit: "ms", judge: { kind: "maxIncrease", fraction: 0.2 } }),
      spec({ name: "throughput", query: RPS, judge: { kind: "minRatioToBaseline", ratio: 0.2 } }),
    ];
    let state = initialAnalysisState({ consecutiveErrorLimit: 2, failureLimit: 0 });
    const decisions: Decision[] = [];
    const interval = async () => {
      const ms = await Promise.all(specs.map((s) => p.measure(request(s, { canaryVersion: "v3" }))));
      const step = recordInterval(state, judgeAll(specs, ms), {
        stepIndex: 0,
        weightPercent: 10,
        atMs: Date.now(),
      });
      state = step.state;
      decisions.push(step.decision);
      return { ms, step };
    };

    for (let i = 0; i < 2; i++) {
      const { ms } = await interval();
      for (const m of ms) expect(m.error).toBeUndefined();
    }
    const pid = prom.process?.pid as number;
    await prom.stop(); // the outage
    // stopped cleanly: no process left in its group, the port is free
    expect(isAlive(pid)).toBe(false);
    expect(await portIsFree(prom.port)).toBe(true);
    const during = [];
    for (let i = 0; i < 3; i++) during.push(await interval());
    for (const { ms } of during) for (const m of ms) expect(m.error).toMatch(/unreachable: .*ECONNREFUSED/);

    // Chosen behaviour: up to consecutiveErrorLimit (2) errors in a row are tolerated; the
    // third pauses the rollout for a human — it never counts as a failure of the version.
    expect(decisions).toEqual(["continue", "continue", "continue", "continue", "pause"]);
    expect(state.status).toBe("paused");
    expect(state.verdict?.line).toMatch(/^metrics provider unavailable: /);
    expect(state.decisions.some((d) => d.decision === "fail")).toBe(false);
    expect(state.metrics["error-rate"]?.step.fail).toBe(0);

    // Prometheus comes back (same storage), an operator resumes: the healthy version passes again.
    await prom.start();
    state = resumeAnalysis(state);
    await eventually(
      async () => (await p.measure(request(specs[0]!, { canaryVersion: "v3" }))).canary !== null,
      15_000,
      "data after restart",
    );
    const after = await interval();
    expect(after.step.decision).toBe("continue");
    expect(judgeAll(specs, after.ms).map((r) => r.verdict)).toEqual(["pass", "pass", "pass"]);
  });
});
