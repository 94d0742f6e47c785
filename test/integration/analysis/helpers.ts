import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { Counter, Gauge, Registry } from "prom-client";
import { judgeMetric } from "../../../lib/analysis/judges";
import {
  type Measurement,
  type MetricResult,
  type MetricSpecInput,
  MetricSpecSchema,
} from "../../../lib/analysis/types";
import type { MeasureRequest } from "../../../lib/drivers/metric-provider";

/**
 * What one version of the fake "shop" does, in numbers the test knows exactly:
 * requests per second, the fraction of them that fail, and a latency gauge.
 */
export interface VersionProfile {
  rps: number;
  errorRatio: number;
  /** Centre of the latency gauge; each scrape adds a deterministic wobble of up to ±5%. */
  latencyMs: number;
}

export interface MetricsApp {
  url: string;
  /** host:port for a Prometheus scrape target. */
  target: string;
  scrapes: number;
  close(): Promise<void>;
}

/**
 * A small HTTP server that exposes prom-client metrics for several versions at
 * once, the way a fleet of instances labelled by version would:
 *
 *   shop_http_requests_total{version, code="200"|"500"}   counters growing at exactly
 *                                                          rps*(1-errorRatio) and rps*errorRatio per second
 *   shop_latency_p95_ms{version}                           gauge around latencyMs
 *
 * Counters advance with wall time at each scrape (value = rate × elapsed), so
 * PromQL `rate()` over them yields the configured rates. It also answers
 * `GET /stats?version=v` with JSON for the http-json provider.
 */
export async function startMetricsApp(profiles: Record<string, VersionProfile>): Promise<MetricsApp> {
  const registry = new Registry();
  const requests = new Counter({
    name: "shop_http_requests_total",
    help: "requests served, by version and status code",
    labelNames: ["version", "code"],
    registers: [registry],
  });
  const latency = new Gauge({
    name: "shop_latency_p95_ms",
    help: "p95 latency in ms",
    labelNames: ["version"],
    registers: [registry],
  });
  const started = Date.now();
  let last = started;
  const app: Partial<MetricsApp> & { scrapes: number } = { scrapes: 0 };
  const wobble = (n: number, version: string) => 1 + 0.05 * Math.sin(n * 1.7 + version.length);
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    if (url.pathname === "/metrics") {
      const now = Date.now();
      const dt = (now - last) / 1000;
      last = now;
      app.scrapes++;
      for (const [version, p] of Object.entries(profiles)) {
        requests.inc({ version, code: "200" }, p.rps * (1 - p.errorRatio) * dt);
        requests.inc({ version, code: "500" }, p.rps * p.errorRatio * dt);
        latency.set({ version }, p.latencyMs * wobble(app.scrapes, version));
      }
      res.writeHead(200, { "content-type": registry.contentType }).end(await registry.metrics());
      return;
    }
    if (url.pathname === "/stats") {
      const p = profiles[url.searchParams.get("version") ?? ""];
      const body = p
        ? {
            data: {
              items: [
                { name: "error_ratio", value: p.errorRatio },
                { name: "rps", value: String(p.rps) },
              ],
            },
            latency: {
              "p95 ms": p.latencyMs,
              samples: Array.from({ length: 12 }, (_, i) => p.latencyMs * wobble(i, "")),
            },
          }
        : { data: { items: [] } };
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
      return;
    }
    if (url.pathname === "/broken") {
      res.writeHead(500).end("boom");
      return;
    }
    if (url.pathname.startsWith("/hang")) {
      return; // never answers: a server that accepted the connection and then stalled
    }
    if (url.pathname === "/html") {
      res.writeHead(200, { "content-type": "text/html" }).end("<html>not json</html>");
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  app.url = `http://127.0.0.1:${port}`;
  app.target = `127.0.0.1:${port}`;
  app.close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return app as MetricsApp;
}

export function scratchDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `shipshape-${prefix}-`));
}

export function spec(input: Omit<MetricSpecInput, "provider"> & { provider?: string }) {
  return MetricSpecSchema.parse({ provider: "prometheus", ...input });
}

export type Spec = ReturnType<typeof spec>;

export function judge(s: Spec, m: Measurement): MetricResult {
  return judgeMetric(s, m);
}

export function request(
  metric: Spec,
  over: Partial<Omit<MeasureRequest, "metric">> & {
    canaryVersion?: string;
    baselineVersion?: string | null;
  } = {},
): MeasureRequest {
  const { canaryVersion, baselineVersion, ...rest } = over;
  return {
    metric,
    canary: { version: canaryVersion ?? "v2", backend: "green" },
    baseline: { version: baselineVersion === undefined ? "v1" : baselineVersion, backend: "blue" },
    windowSeconds: 10,
    service: "shop",
    environment: "production",
    ...rest,
  };
}

/** Poll until `check` resolves true (every 200 ms) or fail after timeoutMs. */
export async function eventually(
  check: () => Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
