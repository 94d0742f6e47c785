/**
 * The Prometheus provider on the real thing end to end: two versions of the
 * sample service (examples/shop/server.js, on the run's PostgreSQL) scraped by
 * a real Prometheus, queried with the PromQL a platform engineer would write
 * (5xx ratio from http_requests_total, p95 from the duration histogram).
 *
 *   v1  baseline, healthy
 *   v2  SHOP_ERROR_RATE=0.05 and SHOP_EXTRA_LATENCY_MS=200
 */
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createPrometheusProvider } from "../../../activities/metrics/prometheus-provider";
import { type PrometheusServer, startPrometheusServer } from "../../../dev/services/prometheus-server";
import { type DetachedProcess, stopGroup } from "../../../lib/runtime/process-group";
import { requirePrometheus } from "../../../lib/runtime/toolchain-manifest";
import { freshDatabase } from "../../support/postgres";
import { startShopProcess } from "../../support/shop-process";
import { judge, request, spec } from "./helpers";

const API = 'route=~"/api/.*"';
const SEL = `service="$service",version="$version",${API}`;
const ERROR_RATIO = `sum(rate(http_requests_total{${SEL},status=~"5.."}[$interval])) or vector(0)`;
const ERR = `(${ERROR_RATIO}) / sum(rate(http_requests_total{${SEL}}[$interval]))`;
const P95 = `histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{${SEL}}[$interval])))`;
const REQUESTS = `sum(increase(http_requests_total{${SEL}}[$interval]))`;

interface Shop {
  version: string;
  url: string;
  proc: DetachedProcess;
  sent: number;
  failed: number;
}

let db: Awaited<ReturnType<typeof freshDatabase>>;
let prom: PrometheusServer;
const shops: Shop[] = [];
const runDir = () => path.join(inject("testStateDir"), `sample-service-${process.pid}`);

async function startShop(version: string, env: Record<string, string> = {}): Promise<Shop> {
  const { url, proc } = await startShopProcess({ version, databaseUrl: db.url, logDir: runDir(), env });
  const shop: Shop = { version, url, proc, sent: 0, failed: 0 };
  shops.push(shop);
  return shop;
}

/** `rps` GETs per second to /api/products for `seconds`, without waiting for answers (slow versions pile up, as in production). */
async function drive(shop: Shop, rps: number, seconds: number): Promise<void> {
  const pending: Promise<void>[] = [];
  const started = Date.now();
  for (let i = 0; i < rps * seconds; i++) {
    const due = started + (i * 1000) / rps;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    shop.sent++;
    pending.push(
      fetch(`${shop.url}/api/products`, { signal: AbortSignal.timeout(5000) }).then(
        async (r) => {
          await r.arrayBuffer();
          if (r.status >= 500) shop.failed++;
        },
        () => {
          shop.failed++;
        },
      ),
    );
  }
  await Promise.all(pending);
}

beforeAll(async () => {
  db = await freshDatabase("prom_shop");
  const v1 = await startShop("v1");
  const v2 = await startShop("v2", { SHOP_ERROR_RATE: "0.05", SHOP_EXTRA_LATENCY_MS: "200" });
  prom = await startPrometheusServer({
    binary: requirePrometheus().path,
    storageDir: path.join(runDir(), "prometheus"),
    scrape: [{ job: "shop", targets: [v1.url, v2.url].map((u) => new URL(u).host) }],
  });
  await prom.waitForTargets();
  await Promise.all([drive(v1, 30, 10), drive(v2, 30, 10)]);
  // two more scrapes so the last requests are in Prometheus
  await new Promise((r) => setTimeout(r, 2200));
}, 90_000);

afterAll(async () => {
  await prom?.stop();
  for (const s of shops) await stopGroup(s.proc, 5000);
  await db?.drop();
});

describe("prometheus provider on the sample service", () => {
  const ctx = { canaryVersion: "v2", baselineVersion: "v1", windowSeconds: 14 };

  it("5xx ratio: v2's injected 5% errors fail `max: 1%`; v1 is clean", async () => {
    const [v1, v2] = shops as [Shop, Shop];
    expect(v1.sent).toBe(300);
    expect(v1.failed).toBe(0);
    const truth = v2.failed / v2.sent;
    const s = spec({
      name: "error-rate",
      query: ERR,
      minRequests: 100,
      judge: { kind: "threshold", max: 0.01 },
    });
    const m = await createPrometheusProvider({ url: prom.url, requestsQuery: REQUESTS }).measure(
      request(s, ctx),
    );
    expect(m.error).toBeUndefined();
    expect(m.baseline).toBe(0);
    expect(Math.abs((m.canary as number) - truth)).toBeLessThan(0.02);
    // Close, not exact: a series appears with its first request, so the requests before its
    // first scrape (≤ 1 s of 10) are not in increase(), which also extrapolates to the window.
    expect(m.requests?.canary).toBeGreaterThan(240);
    expect(m.requests?.baseline).toBeGreaterThan(240);
    expect(truth).toBeGreaterThan(0.01); // 300 requests at 5%: P(≤3 failures) < 0.001
    const r = judge(s, m);
    expect(r.verdict).toBe("fail");
    expect(r.reason).toMatch(/^error-rate \d+(\.\d+)?% > max 1%/);
  });

  it("p95 from the duration histogram: +200 ms fails `maxIncrease: 20%` and Mann-Whitney", async () => {
    const p = createPrometheusProvider({ url: prom.url });
    const inc = spec({
      name: "p95-latency",
      query: P95,
      unit: "s",
      judge: { kind: "maxIncrease", fraction: 0.2 },
    });
    const m = await p.measure(request(inc, ctx));
    expect(m.error).toBeUndefined();
    expect(m.canary).toBeGreaterThan(0.2);
    expect(m.baseline).toBeLessThan(0.1);
    expect(judge(inc, m).verdict).toBe("fail");

    const mw = spec({
      name: "p95-latency-mw",
      query: P95,
      unit: "s",
      judge: { kind: "mannWhitney", tolerance: 0.1, confidence: 0.95, minSamples: 5 },
    });
    const r = judge(mw, await p.measure(request(mw, ctx)));
    expect(r.verdict).toBe("fail");
    expect(r.stats?.nCanary).toBeGreaterThanOrEqual(5);
  });
});
