import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { RoutesView } from "./routes-view";
import type { RoutingTable } from "./routing-table";
import type { RouterStats } from "./stats";

// Prometheus view of the router. One Registry per router (not the global one),
// so several routers can live in one process (tests) without name clashes.
// Counters are read from RouterStats (fed by HAProxy's request log) at scrape
// time; only the latency histogram is observed per request, because
// Prometheus needs its own fixed buckets for histogram_quantile(). Weights,
// shares and instance health come from HAProxy at scrape time.

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
  observe(backend: string, version: string, seconds: number): void;
  /** Drop histogram series of (backend, version) pairs no longer in the table. */
  retain(pairs: ReadonlyArray<{ backend: string; version: string }>): void;
  text(): Promise<string>;
}

const LATENCY_BUCKETS_S = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

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

  const duration = new Histogram({
    name: "shipshape_router_request_duration_seconds",
    help: "Time from request arrival at the router to the end of the response, for answered requests.",
    labelNames: bv,
    buckets: LATENCY_BUCKETS_S,
    registers: [registry],
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

  // One labelled child per (backend, version), kept: prom-client hashes the
  // labels when a child is made, not at every observation (this runs per request).
  const observed = new Map<
    string,
    { labels: { backend: string; version: string }; child: { observe(v: number): void } }
  >();
  return {
    registry,
    observe(backend, version, seconds) {
      const key = `${backend}\u0000${version}`;
      let o = observed.get(key);
      if (!o) {
        const labels = { backend, version };
        o = { labels, child: duration.labels(labels) };
        observed.set(key, o);
      }
      o.child.observe(seconds);
    },
    retain(pairs) {
      const keep = new Set(pairs.map((p) => `${p.backend}\u0000${p.version}`));
      for (const [key, { labels }] of observed) {
        if (keep.has(key)) continue;
        duration.remove(labels);
        observed.delete(key);
      }
    },
    text: () => registry.metrics(),
  };
}
