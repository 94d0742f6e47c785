import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { freePort } from "../../../lib/runtime/free-port";
import { requireHaproxy } from "../../../lib/runtime/toolchain-manifest";
import { createAdminHandler, DataPlaneUnavailable, type InstanceHealth } from "./admin-api";
import { type DataPlaneState, HaproxyDataPlane } from "./data-plane";
import { haproxyFiles, serverName } from "./haproxy-config";
import { type HealthOptions, healthOptions } from "./health";
import { createRouterMetrics } from "./prometheus";
import { startLogSink } from "./request-log";
import { abnormalRequestLog, requestRecorder } from "./request-recorder";
import { type RoutesView, routesView } from "./routes-view";
import { type BackendName, type RoutesPatch, type RoutingTable, RoutingTableStore } from "./routing-table";
import { RouterStats } from "./stats";

// The router of one service+environment: HAProxy does the data path; this
// control process owns it (a child in its process group), its Runtime API
// socket, the persisted routing table, the reader of HAProxy's request log
// (per-version statistics) and the admin API (routes, stats, health,
// Prometheus metrics). See data-plane.ts for how a table reaches HAProxy.

export interface RouterOptions {
  /** Proxy port; 0 picks a free one. */
  port?: number;
  /** Admin port; 0 picks a free one. */
  adminPort?: number;
  stateFile: string;
  token: string;
  /** HAProxy's active checks; `false`: no checks, every instance is taken as healthy. */
  healthCheck?: Partial<HealthOptions> | false;
  /** Table used only when the state file does not exist yet. */
  initialTable?: RoutingTable;
  /** Give up on a backend that has not answered within this time (504). */
  proxyTimeoutMs?: number;
  /** Longest window kept for stats. */
  maxWindowSeconds?: number;
  /** Default window of GET /admin/stats and of the Prometheus percentile gauges. */
  defaultWindowSeconds?: number;
  /** How long close() lets in-flight requests finish. */
  drainTimeoutMs?: number;
  /** HAProxy's files (config, maps, socket); default `haproxy/` beside the state file. */
  runDir?: string;
  /** Default: the toolchain's HAProxy (SHIPSHAPE_HAPROXY_BIN or `npm run setup`'s manifest). */
  haproxyBinary?: string;
  /** HAProxy threads (default 1: a single event loop is enough here and cheapest per request). */
  threads?: number;
  log?: (event: Record<string, unknown>) => void;
}

export interface RouterHandle {
  port: number;
  adminPort: number;
  /** Base URL of the proxy listener. */
  url: string;
  /** Base URL of the admin listener. */
  adminUrl: string;
  table(): RoutingTable;
  update(patch: RoutesPatch): Promise<{ table: RoutingTable; changed: boolean }>;
  routes(): Promise<RoutesView>;
  stats: RouterStats;
  dataPlane: HaproxyDataPlane;
  close(): Promise<void>;
}

const HOST = "127.0.0.1";

export async function startRouter(opts: RouterOptions): Promise<RouterHandle> {
  if (!opts.token) throw new Error("router admin token is required");
  const log =
    opts.log ?? ((e) => process.stderr.write(`${JSON.stringify({ at: new Date().toISOString(), ...e })}\n`));
  const store = await RoutingTableStore.open(opts.stateFile, opts.initialTable);
  const stats = new RouterStats({ maxWindowSeconds: opts.maxWindowSeconds ?? 300 });
  const defaultWindowSeconds = opts.defaultWindowSeconds ?? 30;
  let dataPlane: HaproxyDataPlane | undefined;

  const sink = await startLogSink(
    requestRecorder({
      stats,
      table: () => store.current,
      versionOf: (backend, server) => (dataPlane ? dataPlane.versionOf(backend, server) : null),
      abnormal: abnormalRequestLog(log),
    }),
  );

  const port = opts.port || (await freePort());
  const runDir = opts.runDir ?? path.join(path.dirname(opts.stateFile), "haproxy");
  const health = opts.healthCheck === false ? false : healthOptions(opts.healthCheck);
  try {
    dataPlane = await HaproxyDataPlane.start(
      {
        binary: opts.haproxyBinary ?? requireHaproxy().path,
        dir: runDir,
        port,
        logSinkPort: sink.port,
        health,
        proxyTimeoutMs: opts.proxyTimeoutMs ?? 30_000,
        drainTimeoutMs: opts.drainTimeoutMs ?? 10_000,
        threads: opts.threads ?? 1,
        log,
      },
      store.current,
    );
  } catch (err) {
    await sink.close();
    throw err;
  }
  const dp = dataPlane;

  const state = async () => {
    try {
      return await dp.state();
    } catch (err) {
      throw new DataPlaneUnavailable(`haproxy did not answer: ${(err as Error).message}`);
    }
  };
  const routes = async (): Promise<RoutesView> => routesView(store.current, await state());
  const metrics = createRouterMetrics({
    table: () => store.current,
    stats,
    routes,
    quantileWindowSeconds: defaultWindowSeconds,
  });

  const update = async (patch: RoutesPatch) => {
    // The table is persisted only once HAProxy applied it: what a caller is told
    // is in effect is also what a restart brings back.
    const result = await store.update(patch, async (candidate) => {
      try {
        await dp.apply(candidate);
      } catch (err) {
        throw new DataPlaneUnavailable(`haproxy did not apply the change: ${(err as Error).message}`);
      }
    });
    if (result.changed) {
      const backends = Object.entries(result.table.backends);
      stats.retain(backends.map(([n]) => n));
      log({ event: "routes", version: result.table.version, weights: weightsOf(result.table) });
    }
    return result;
  };

  const adminServer = http.createServer(
    createAdminHandler({
      token: opts.token,
      table: () => store.current,
      update,
      routes,
      instances: async () => instancesOf(store.current, await state()),
      flush: () => sink.flush(haproxyFiles(runDir).flushSocket),
      stats: async (window) => {
        const snap = stats.snapshot(window);
        const state = await dp.state().catch(() => undefined);
        for (const [name, b] of Object.entries(snap.backends))
          b.inflight = state?.inflight[name as BackendName] ?? 0;
        return snap;
      },
      maxWindowSeconds: stats.maxWindowSeconds,
      defaultWindowSeconds,
      metrics,
    }),
  );
  try {
    await listen(adminServer, opts.adminPort ?? 0);
  } catch (err) {
    await dp.close();
    await sink.close();
    throw err;
  }
  const adminPort = (adminServer.address() as AddressInfo).port;
  log({
    event: "listening",
    port,
    adminPort,
    haproxyPid: dp.pid,
    tableVersion: store.current.version,
    weights: weightsOf(store.current),
  });

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      const closed = new Promise<void>((r) => adminServer.close(() => r()));
      adminServer.closeIdleConnections();
      await dp.close(); // soft stop: in-flight requests finish (bounded by drainTimeoutMs)
      adminServer.closeAllConnections();
      await closed;
      await sink.close();
    })();
    return closing;
  };

  return {
    port,
    adminPort,
    url: `http://${HOST}:${port}`,
    adminUrl: `http://${HOST}:${adminPort}`,
    table: () => store.current,
    update,
    routes,
    stats,
    dataPlane: dp,
    close,
  };
}

function instancesOf(table: RoutingTable, state: DataPlaneState): InstanceHealth[] {
  return state.servers.map((s) => {
    const instance =
      table.backends[s.backend]?.instances.find((i) => serverName(i) === s.name) ?? `http://${s.name}`;
    return {
      backend: s.backend,
      instance,
      state: s.retiring ? "retiring" : s.up ? "up" : "down",
      status: s.status,
      checkStatus: s.checkStatus,
      lastChangeSeconds: s.lastChangeSeconds,
      failedChecks: s.failedChecks,
    };
  });
}

function weightsOf(t: RoutingTable): Record<string, number> {
  return Object.fromEntries(Object.entries(t.backends).map(([n, b]) => [n, b.weight]));
}

function listen(server: http.Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, HOST, () => {
      server.off("error", reject);
      resolve();
    });
  });
}
