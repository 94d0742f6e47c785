/**
 * A 20-metric analysis through all three providers at once — a real router
 * (8 metrics), a real Prometheus (8) and an HTTP JSON endpoint (4) — measured
 * by measureAll, judged by judgeAll and folded by recordInterval, the same
 * path the analysis activity and workflow take. A healthy canary passes every
 * metric; a degraded one (5% errors, +200 ms) fails the critical error-rate
 * metrics at once, with a verdict line that names the metric and the numbers.
 */
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createMetricProviders,
  type MetricProviders,
  measureAll,
} from "../../../activities/metrics/registry";
import { type PrometheusServer, startPrometheusServer } from "../../../dev/services/prometheus-server";
import { RouterClient } from "../../../infra/local/router/client";
import { initialAnalysisState, judgeAll, recordInterval } from "../../../lib/analysis";
import { requirePrometheus } from "../../../lib/runtime/toolchain-manifest";
import {
  hammer,
  killAllBackends,
  removeDir,
  startBackend,
  startTestRouter,
  type TestRouter,
  TOKEN,
} from "../../unit/infra/local/router/helpers";
import { eventually, type MetricsApp, type Spec, spec, startMetricsApp } from "./helpers";

let app: MetricsApp;
let prom: PrometheusServer;
let router: TestRouter;
let providers: MetricProviders;

const sel = (extra = "") => `service="$service",version="$version"${extra}`;
const ERR = `sum(rate(shop_http_requests_total{${sel(',code="500"')}}[$interval])) / sum(rate(shop_http_requests_total{${sel()}}[$interval]))`;
const RPS = `sum(rate(shop_http_requests_total{${sel()}}[$interval]))`;
const LAT = `max(shop_latency_p95_ms{${sel()}})`;
const INC = `sum(increase(shop_http_requests_total{${sel()}}[$interval]))`;

function metrics(appUrl: string): Spec[] {
  const router = (name: string, query: string, judge: Spec["judge"], critical = false) =>
    spec({ name, provider: "router", query, judge, critical, minRequests: 20 });
  const prom = (name: string, query: string, judge: Spec["judge"], critical = false) =>
    spec({ name, provider: "prometheus", query, judge, critical });
  const json = (name: string, p: string, judge: Spec["judge"]) =>
    spec({ name, provider: "http-json", query: `${appUrl}/stats?version=$version#${p}`, judge });
  const mw = {
    kind: "mannWhitney",
    tolerance: 0.1,
    confidence: 0.95,
    direction: "increase-is-bad",
    minSamples: 5,
  } as const;
  return [
    router("router-error-rate", "error_rate", { kind: "threshold", max: 0.01 }, true),
    router("router-p50", "latency_p50_ms", { kind: "maxIncrease", fraction: 0.5 }),
    router("router-p95", "latency_p95_ms", { kind: "maxIncrease", fraction: 0.5 }),
    router("router-p99", "latency_p99_ms", { kind: "threshold", max: 1000 }),
    router("router-mean", "latency_mean_ms", { kind: "maxIncrease", fraction: 0.5 }),
    router("router-max", "latency_max_ms", { kind: "threshold", max: 2000 }),
    router("router-rps", "request_rate", { kind: "minRatioToBaseline", ratio: 0.3 }),
    router("router-requests", "requests", { kind: "threshold", min: 20 }),
    prom("prom-error-rate", ERR, { kind: "threshold", max: 0.02 }, true),
    prom("prom-error-increase", ERR, { kind: "maxIncrease", fraction: 0.5 }),
    prom("prom-rps-ratio", RPS, { kind: "minRatioToBaseline", ratio: 0.2 }),
    prom("prom-rps-min", RPS, { kind: "threshold", min: 5 }),
    prom("prom-p95-increase", LAT, { kind: "maxIncrease", fraction: 0.2 }),
    prom("prom-p95-mw", LAT, mw),
    prom("prom-p95-max", LAT, { kind: "threshold", max: 200 }),
    prom("prom-requests", INC, { kind: "threshold", min: 50 }),
    json("json-error-rate", "data.items[0].value", { kind: "threshold", max: 0.02 }),
    json("json-rps", "data.items[1].value", { kind: "threshold", min: 5 }),
    json("json-p95", 'latency["p95 ms"]', { kind: "maxIncrease", fraction: 0.2 }),
    json("json-p95-mw", "latency.samples", mw),
  ];
}

beforeAll(async () => {
  app = await startMetricsApp({
    v1: { rps: 40, errorRatio: 0.01, latencyMs: 100 },
    v2: { rps: 10, errorRatio: 0.05, latencyMs: 300 },
    v3: { rps: 10, errorRatio: 0.01, latencyMs: 100 },
  });
  prom = await startPrometheusServer({
    binary: requirePrometheus().path,
    storageDir: path.join(process.env.TMPDIR ?? "/tmp", `shipshape-twenty-${process.pid}`),
    scrape: [],
  });
  // set the targets after start, through the lifecycle reload API
  await prom.setScrape([{ job: "shop", targets: [app.target], labels: { service: "shop" } }]);
  const blue = await startBackend("blue", { delayMs: 50 });
  router = await startTestRouter({
    initialTable: {
      version: 1,
      updatedAt: new Date().toISOString(),
      sticky: false,
      backends: { blue: { version: "v1", instances: [blue.url], weight: 50 } },
    },
  });
  providers = createMetricProviders({
    router: new RouterClient({ adminUrl: router.adminUrl, token: TOKEN }),
    prometheus: { url: prom.url },
    httpJson: {},
  });
  await eventually(
    async () => {
      const q = encodeURIComponent('count_over_time(up{job="shop"}[1m])');
      const body = (await (await fetch(`${prom.url}/api/v1/query?query=${q}`)).json()) as {
        data: { result: Array<{ value: [number, string] }> };
      };
      return Number(body.data.result[0]?.value[1] ?? 0) >= 9;
    },
    30_000,
    "9 scrapes of the test app",
  );
}, 60_000);

afterAll(async () => {
  await prom?.stop();
  await router?.close();
  await killAllBackends();
  await app?.close();
  if (router) await removeDir(router.dir);
  if (prom) await removeDir(prom.storageDir);
});

async function analyse(version: string, delayMs: number, status?: (n: number) => number) {
  const green = await startBackend(`green-${version}`, { delayMs, status });
  await router.update({ backends: { green: { version, instances: [green.url], weight: 50 } } });
  await hammer(router.url, 200, 20);
  const specs = metrics(app.url);
  const ctx = {
    canary: { version, backend: "green" },
    baseline: { version: "v1", backend: "blue" },
    windowSeconds: 8,
    service: "shop",
    environment: "production",
  };
  const measurements = await measureAll(providers, specs, ctx);
  const results = judgeAll(specs, measurements);
  const step = recordInterval(initialAnalysisState({ failureLimit: 1 }), results, {
    stepIndex: 0,
    weightPercent: 50,
    atMs: Date.now(),
  });
  return { specs, measurements, results, step };
}

describe("20-metric analysis across router, Prometheus and HTTP JSON", () => {
  it("a healthy canary passes all 20 metrics", async () => {
    const { specs, measurements, results, step } = await analyse("v3", 50);
    expect(specs).toHaveLength(20);
    expect(new Set(specs.map((s) => s.provider))).toEqual(new Set(["router", "prometheus", "http-json"]));
    for (const m of measurements) expect(m.error, m.metric).toBeUndefined();
    const notPassing = results.filter((r) => r.verdict !== "pass").map((r) => r.reason);
    expect(notPassing).toEqual([]);
    expect(step.decision).toBe("continue");
    expect(Object.keys(step.state.metrics)).toHaveLength(20);
  });

  it("a degraded canary (5% errors, +200 ms) fails, and the verdict names the metric and its numbers", async () => {
    const { results, step } = await analyse("v2", 250, (n) => (n % 20 === 0 ? 500 : 200));
    const verdict = Object.fromEntries(results.map((r) => [r.metric, r.verdict]));
    for (const m of [
      "router-error-rate",
      "router-p50",
      "router-p95",
      "prom-error-rate",
      "prom-error-increase",
      "prom-p95-increase",
      "prom-p95-mw",
      "prom-p95-max",
      "json-error-rate",
      "json-p95",
      "json-p95-mw",
    ]) {
      expect(verdict[m], m).toBe("fail");
    }
    expect(results.filter((r) => r.verdict === "error")).toEqual([]);
    expect(step.decision).toBe("fail");
    expect(step.verdict.metric).toBe("router-error-rate");
    expect(step.verdict.line).toMatch(/^router-error-rate \d(\.\d+)?% > max 1% at 50% traffic/);
  });
});
