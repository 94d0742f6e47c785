import { Counter, Gauge, Registry } from "prom-client";
import type { RoutesView } from "./routes-view";
import type { RoutingTable } from "./routing-table";
import { type BackendSeries, PROMETHEUS_LATENCY_BOUNDS_S, type RouterStats } from "./stats";

// Prometheus view of the router. One Registry per router (not the global one),
// so several routers can live in one process (tests) without name clashes.
// Everything is read at scrape time: counters and the latency histogram from
// RouterStats (fed by HAProxy's request log; the histogram's fixed buckets,
// for histogram_quantile(), are counted there as requests are read), weights,
// shares and instance health from HAProxy.

export interface MetricsSource {
  table(): RoutingTable;
  stats: RouterStats;
  /** The routes view (HAProxy's health and split); rejects when HAProxy does not answer. */
  routes(): Promise<RoutesView>;
  /** Window (s) of the pre-computed percentile gauges. */
  quantileWindowSeconds: number;
}

export interface RouterMetrics {
  registry: Registry;
  text(): Promise<string>;
}

const DURATION = "shipshape_router_request_duration_seconds";

/** A label value in the text format (backslash, double quote and newline escaped). */
const labelValue = (v: string) => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

/**
 * The latency histogram family in Prometheus' text format, from the counts
 * each series keeps. Written here rather than through the library because
 * prom-client can only fill a histogram one observation at a time, and one
 * labelled observation per request cost more than everything else the
 * request log's reader does for that request.
 */
export function latencyHistogramText(series: readonly BackendSeries[]): string {
  const lines = [
    `# HELP ${DURATION} Time from request arrival at the router to the end of the response, for answered requests.`,
    `# TYPE ${DURATION} histogram`,
  ];
  for (const s of series) {
    const labels = `backend="${labelValue(s.backend)}",version="${labelValue(s.version)}"`;
    const { counts, sumSeconds } = s.totalLatency;
    let cumulative = 0;
    PROMETHEUS_LATENCY_BOUNDS_S.forEach((le, i) => {
      cumulative += counts[i]!;
      lines.push(`${DURATION}_bucket{le="${le}",${labels}} ${cumulative}`);
    });
    const count = cumulative + counts[PROMETHEUS_LATENCY_BOUNDS_S.length]!;
    lines.push(`${DURATION}_bucket{le="+Inf",${labels}} ${count}`);
    lines.push(`${DURATION}_sum{${labels}} ${sumSeconds}`);
    lines.push(`${DURATION}_count{${labels}} ${count}`);
  }
  return `${lines.join("\n")}\n`;
}

export function createRouterMetrics(src: MetricsSource): RouterMetrics {
  const registry = new Registry();
  const bv = ["backend", "version"] as const;

  new Counter({
    name: "shipshape_router_requests_total",
    help: "User requests attributed to a backend.",
    labelNames: bv,
    registers: [registry],
    collect() {
      this.reset();
      for (const s of src.stats.all()) this.inc({ backend: s.backend, version: s.version }, s.total.requests);
    },
  });

  new Counter({
    name: "shipshape_router_errors_total",
    help: "User requests that failed: kind=5xx (backend answered 5xx), connection, timeout.",
    labelNames: [...bv, "kind"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const s of src.stats.all()) {
        const l = { backend: s.backend, version: s.version };
        this.inc({ ...l, kind: "5xx" }, s.total.errors5xx);
        this.inc({ ...l, kind: "connection" }, s.total.connectionErrors);
        this.inc({ ...l, kind: "timeout" }, s.total.timeouts);
      }
    },
  });

  new Counter({
    name: "shipshape_router_upstream_failures_total",
    help: "Upstream attempts that failed at connection level, including ones hidden from users by a retry.",
    labelNames: bv,
    registers: [registry],
    collect() {
      this.reset();
      for (const s of src.stats.all())
        this.inc({ backend: s.backend, version: s.version }, s.total.upstreamFailures);
    },
  });

  new Counter({
    name: "shipshape_router_unrouted_requests_total",
    help: "Requests answered by the router itself because no backend could take them.",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(src.stats.snapshot(1).unrouted.total);
    },
  });

  new Gauge({
    name: "shipshape_router_inflight_requests",
    help: "Requests currently being proxied to a backend (non-zero on a weight-0 backend = draining).",
    labelNames: bv,
    registers: [registry],
    async collect() {
      this.reset();
      const routes = await src.routes().catch(() => undefined);
      for (const [name, b] of Object.entries(routes?.backends ?? {}))
        this.set({ backend: name, version: b.version }, b.inflight);
    },
  });

  new Gauge({
    name: "shipshape_router_backend_weight",
    help: "Configured weight of each backend.",
    labelNames: bv,
    registers: [registry],
    collect() {
      this.reset();
      for (const [name, b] of Object.entries(src.table().backends))
        this.set({ backend: name, version: b.version }, b.weight);
    },
  });

  new Gauge({
    name: "shipshape_router_backend_effective_share",
    help: "Fraction of un-pinned traffic each backend gets now, health included (0..1).",
    labelNames: bv,
    registers: [registry],
    async collect() {
      this.reset();
      const routes = await src.routes().catch(() => undefined);
      if (!routes) return;
      for (const [name, b] of Object.entries(routes.backends))
        this.set({ backend: name, version: b.version }, routes.effective[name] ?? 0);
    },
  });

  new Gauge({
    name: "shipshape_router_instance_up",
    help: "1 when the instance passes health checks, else 0.",
    labelNames: [...bv, "instance"] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const routes = await src.routes().catch(() => undefined);
      for (const [name, b] of Object.entries(routes?.backends ?? {})) {
        for (const i of b.healthy) this.set({ backend: name, version: b.version, instance: i }, 1);
        for (const i of b.unhealthy) this.set({ backend: name, version: b.version, instance: i }, 0);
      }
    },
  });

  new Gauge({
    name: "shipshape_router_table_version",
    help: "Version of the routing table in effect in HAProxy (its routing map).",
    registers: [registry],
    async collect() {
      const routes = await src.routes().catch(() => undefined);
      this.set(routes?.applied?.version ?? -1);
    },
  });

  new Gauge({
    name: "shipshape_router_window_latency_seconds",
    help: "Latency percentiles over the router's own sliding window (label window, seconds).",
    labelNames: [...bv, "quantile", "window"] as const,
    registers: [registry],
    collect() {
      this.reset();
      const snap = src.stats.snapshot(src.quantileWindowSeconds);
      const window = String(src.quantileWindowSeconds);
      for (const [name, b] of Object.entries(snap.backends)) {
        if (!b.latencyMs) continue;
        const l = { backend: name, version: b.version, window };
        this.set({ ...l, quantile: "0.5" }, b.latencyMs.p50 / 1000);
        this.set({ ...l, quantile: "0.95" }, b.latencyMs.p95 / 1000);
        this.set({ ...l, quantile: "0.99" }, b.latencyMs.p99 / 1000);
      }
    },
  });

  return {
    registry,
    text: async () => `${await registry.metrics()}\n${latencyHistogramText(src.stats.all())}`,
  };
}
