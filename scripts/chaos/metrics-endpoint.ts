/**
 * A second metrics source for the campaign's analysis, served by the chaos
 * driver through the worker's real `http-json` provider: the error rate each
 * version gave the load generator's users. The `metrics-outage` fault makes
 * it answer 503 — a metrics provider that fails, which analysis must treat as
 * "unknown" (pause), never as a verdict on the version.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { TrafficLog } from "./traffic";

export interface MetricsEndpoint {
  /** http-json query for the release config (`$version` and `$window_seconds` are expanded by the provider). */
  query: string;
  failing: boolean;
  /** Times of scrapes answered with data (ms since epoch). */
  readonly answeredAt: number[];
  close(): Promise<void>;
}

export async function startMetricsEndpoint(traffic: TrafficLog): Promise<MetricsEndpoint> {
  const answeredAt: number[] = [];
  const endpoint: MetricsEndpoint = {
    query: "",
    failing: false,
    answeredAt,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (endpoint.failing) {
      res.writeHead(503, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: "chaos: metrics provider outage" }));
      return;
    }
    const version = url.searchParams.get("version") ?? "";
    const windowS = Math.max(1, Number(url.searchParams.get("window") ?? 10));
    const { rate, requests } = traffic.errorRate(version, windowS * 1000);
    answeredAt.push(Date.now());
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ value: rate, requests }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const { port } = server.address() as AddressInfo;
  endpoint.query = `http://127.0.0.1:${port}/error-rate?version=$version&window=$window_seconds#value`;
  return endpoint;
}
