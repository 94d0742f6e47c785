/**
 * `router` metric provider: the local router's own per-backend statistics
 * (infra/local/router, GET /admin/stats?window=N) — no metrics system needed.
 *
 * Queries (the metric's `query` is one of these names):
 *
 *   error_rate        errors / requests (errors = 5xx + connection failures + timeouts)
 *   latency_p50_ms    latency percentiles of answered requests, ms
 *   latency_p95_ms
 *   latency_p99_ms
 *   latency_mean_ms
 *   latency_max_ms
 *   request_rate      requests per second over the window
 *   requests          requests in the window
 *
 * Canary = the router backend named in the request (green), baseline = blue.
 * Every measurement carries the request counts of both sides, so `minRequests`
 * holds a verdict back until enough traffic went through. A backend that served
 * nothing in the window has no value (null → inconclusive), never "0 % errors".
 * Numbers the router recorded under another version of the same backend name
 * are ignored (no data for the version asked about): they describe another
 * release. Only an unreachable router or an unknown query is an error.
 *
 * The router keeps histograms, not individual requests, so it returns no
 * samples: a Mann-Whitney judge on a router metric reports "not enough
 * samples" (inconclusive) — use Prometheus range queries for that judge.
 */

import type { BackendSnapshot, StatsSnapshot } from "../../infra/local/router/stats";
import type { Measurement } from "../../lib/analysis/types";
import type { MeasureRequest, MetricProvider } from "../../lib/drivers/metric-provider";
import { errorMeasurement, errorText, finiteOrNull } from "./common";

export const ROUTER_QUERIES = [
  "error_rate",
  "latency_p50_ms",
  "latency_p95_ms",
  "latency_p99_ms",
  "latency_mean_ms",
  "latency_max_ms",
  "request_rate",
  "requests",
] as const;
export type RouterQuery = (typeof ROUTER_QUERIES)[number];

/** What the provider needs from the router: RouterClient (admin API) or RouterStats (in process) both fit. */
export interface RouterStatsSource {
  stats(windowSeconds: number): Promise<Pick<StatsSnapshot, "backends">>;
}

export interface RouterProviderOptions {
  router: RouterStatsSource;
  /** Longest window the router keeps (its maxWindowSeconds); longer windows are clamped. Default 300. */
  maxWindowSeconds?: number;
}

export function isRouterQuery(q: string): q is RouterQuery {
  return (ROUTER_QUERIES as readonly string[]).includes(q);
}

/** The value of a router query for one backend snapshot; null = no data. Pure, exported for tests. */
export function routerValue(query: RouterQuery, b: BackendSnapshot | undefined): number | null {
  if (!b || b.requests === 0) return null;
  switch (query) {
    case "error_rate":
      return finiteOrNull(b.errors / b.requests);
    case "latency_p50_ms":
      return finiteOrNull(b.latencyMs?.p50);
    case "latency_p95_ms":
      return finiteOrNull(b.latencyMs?.p95);
    case "latency_p99_ms":
      return finiteOrNull(b.latencyMs?.p99);
    case "latency_mean_ms":
      return finiteOrNull(b.latencyMs?.mean);
    case "latency_max_ms":
      return finiteOrNull(b.latencyMs?.max);
    case "request_rate":
      return finiteOrNull(b.rps);
    case "requests":
      return b.requests;
  }
}

export function createRouterProvider(options: RouterProviderOptions): MetricProvider {
  const maxWindow = options.maxWindowSeconds ?? 300;
  return {
    name: "router",
    // In-memory counters with 1 s buckets: polled within an interval (activities/watch.ts).
    watchable: true,
    async measure(req: MeasureRequest): Promise<Measurement> {
      const metric = req.metric.name;
      const query = req.metric.query.trim();
      if (!isRouterQuery(query)) {
        return errorMeasurement(
          metric,
          `unknown router query ${JSON.stringify(query)}; known: ${ROUTER_QUERIES.join(", ")}`,
        );
      }
      const window = Math.min(maxWindow, Math.max(1, Math.ceil(req.windowSeconds)));
      let snapshot: Pick<StatsSnapshot, "backends">;
      try {
        snapshot = await options.router.stats(window);
      } catch (err) {
        return errorMeasurement(metric, `router stats unavailable: ${errorText(err)}`);
      }
      // Only numbers recorded for the version asked about count. Right after green
      // switched to a new version, the router still holds the previous version's
      // series until the first request reaches the new one: that is "no data yet"
      // for this version (inconclusive), not a provider error that would count
      // toward consecutiveErrorLimit and pause a healthy rollout.
      const forVersion = (b: BackendSnapshot | undefined, version: string | null) =>
        b && version !== null && b.version === version ? b : undefined;
      const canary = forVersion(snapshot.backends[req.canary.backend], req.canary.version);
      const baseline = forVersion(snapshot.backends[req.baseline.backend], req.baseline.version);
      return {
        metric,
        canary: routerValue(query, canary),
        baseline: routerValue(query, baseline),
        requests: { canary: canary?.requests ?? 0, baseline: baseline?.requests ?? 0 },
      };
    },
  };
}
