import http from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { createProxyServer } from "http-proxy-3";
import { createAdminHandler } from "./admin-api";
import { HealthChecker, type HealthCheckOptions, type HealthTarget } from "./health-checker";
import { createRouterMetrics } from "./prometheus";
import { type RoutesPatch, type RoutingTable, RoutingTableStore } from "./routing-table";
import { type BackendSeries, RouterStats } from "./stats";
import {
  BACKEND_HEADER,
  type BackendView,
  effectiveShares,
  OVERRIDE_HEADER,
  pickBackend,
  RoundRobin,
  readOverride,
  readStickyCookie,
  stickyCookie,
} from "./weighted-pick";

// The local data plane: one proxy listener for user traffic and one admin
// listener, both bound to 127.0.0.1.
//
// Per request: read the current routing table (an immutable object swapped
// atomically by the admin API, so a weight change is visible to the very next
// request), pick a backend (weighted-pick.ts), round-robin an instance among
// its healthy ones, proxy with http-proxy-3 over a keep-alive agent.
//
// Draining: picking happens per request, not per client connection, so a
// backend whose weight drops to 0 gets no new requests from the next request
// on, even over an existing keep-alive connection; requests already in flight
// are left alone and finish normally (their count is visible as
// `inflight`/`draining` in GET /admin/routes).
//
// Retry policy: a request that fails at connection level (refused, reset,
// before any response byte reached the client) is retried once, over a fresh
// connection, on another healthy instance of the SAME backend (or on the same
// instance when the failure happened on a reused keep-alive socket, the
// classic idle-close race), only for GET/HEAD/OPTIONS without a body. Same
// backend because the pick is a decision about which release serves the
// request (override header, sticky user, canary share), and answering from
// the other release would hide green's failures from the analysis that
// judges it. Safe methods only because a reset can come after the backend
// already acted on the request, and bodies are streamed, not buffered.
// Timeouts are never retried (the user already waited proxyTimeoutMs). Every
// failed attempt counts in `upstreamFailures` and is reported to the health
// checker; a user-visible failure also counts as an error of that backend.
//
// Detection window for a dead backend process: a failure on a fresh
// connection ejects the instance at once; one on a reused socket triggers an
// immediate health check that ejects it a round-trip later. A user sees an
// error only when the request's retry also lands on a dead, not yet ejected
// instance. Under sequential traffic a killed backend with k instances costs
// at most k failed requests (typically 1: the retry's fresh connection is
// refused and ejects the second instance too); under concurrency, add the
// requests already in flight to it at the moment it died. A backend that
// stays up but fails its health endpoint is ejected after `fall` failed
// checks (default 2 x 1 s) without any user request failing.

export interface RouterOptions {
  /** Proxy port; 0 picks a free one. */
  port?: number;
  /** Admin port; 0 picks a free one. */
  adminPort?: number;
  stateFile: string;
  token: string;
  /** Active health checks; `false` treats every instance as healthy (no checks, no passive ejection). */
  healthCheck?: HealthCheckOptions | false;
  /** Table used only when the state file does not exist yet. */
  initialTable?: RoutingTable;
  /** Give up on a backend that has not answered within this time (504). */
  proxyTimeoutMs?: number;
  /** Longest window kept for stats. */
  maxWindowSeconds?: number;
  /** Default window of GET /admin/stats and of the Prometheus percentile gauges. */
  defaultWindowSeconds?: number;
  /** How long close() waits for in-flight requests before cutting connections. */
  drainTimeoutMs?: number;
  random?: () => number;
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
  stats: RouterStats;
  health: HealthChecker;
  close(): Promise<void>;
}

const HOST = "127.0.0.1";
const RETRYABLE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

interface RequestContext {
  backend: string;
  version: string;
  series: BackendSeries;
  instance: string;
  attempt: number;
  started: number;
  setCookie: string | undefined;
  failure: "connection" | "timeout" | undefined;
  timedOut: boolean;
  /** Whether the current attempt went out on a pooled keep-alive socket. */
  reusedSocket: boolean;
}

export async function startRouter(opts: RouterOptions): Promise<RouterHandle> {
  if (!opts.token) throw new Error("router admin token is required");
  const log =
    opts.log ?? ((e) => process.stderr.write(`${JSON.stringify({ at: new Date().toISOString(), ...e })}\n`));
  const random = opts.random ?? Math.random;
  const proxyTimeoutMs = opts.proxyTimeoutMs ?? 30_000;
  const healthEnabled = opts.healthCheck !== false;

  const store = await RoutingTableStore.open(opts.stateFile, opts.initialTable);
  const stats = new RouterStats({ maxWindowSeconds: opts.maxWindowSeconds ?? 300 });
  const health = new HealthChecker(
    opts.healthCheck === false ? {} : opts.healthCheck,
    (instance, from, to, why) => log({ event: "health", instance, from, to, why }),
  );
  const rr = new RoundRobin();
  const isUp = (instance: string) => !healthEnabled || health.isUp(instance);

  const targetsOf = (t: RoutingTable): HealthTarget[] =>
    Object.values(t.backends).flatMap((b) =>
      b.instances.map((instance) => ({ instance, path: b.healthPath ?? health.options.path })),
    );
  const views = (t: RoutingTable = store.current): BackendView[] =>
    Object.entries(t.backends).map(([name, b]) => ({
      name,
      version: b.version,
      weight: b.weight,
      healthy: b.instances.filter(isUp),
    }));
  const inflight = () => Object.fromEntries(stats.all().map((s) => [s.backend, s.inflight]));

  const metrics = createRouterMetrics({
    table: () => store.current,
    stats,
    health,
    shares: () => effectiveShares(views()),
    quantileWindowSeconds: opts.defaultWindowSeconds ?? 30,
  });

  const afterSwap = (t: RoutingTable) => {
    if (healthEnabled) health.setTargets(targetsOf(t));
    stats.retain(Object.keys(t.backends));
    metrics.retain(Object.entries(t.backends).map(([backend, b]) => ({ backend, version: b.version })));
  };

  const update = async (patch: RoutesPatch) => {
    const result = await store.update(patch, async (candidate) => {
      if (!healthEnabled) return;
      // New instances get a verdict before the table that routes to them
      // becomes visible, so they are neither sent traffic unchecked nor kept
      // out for a whole interval after the PUT returns.
      const fresh = targetsOf(candidate).filter((t) => !health.get(t.instance));
      if (fresh.length === 0) return;
      health.setTargets([...targetsOf(store.current), ...fresh]);
      await health.probe(fresh);
    });
    if (result.changed) {
      afterSwap(result.table);
      log({ event: "routes", version: result.table.version, weights: weightsOf(result.table) });
    }
    return result;
  };

  afterSwap(store.current);
  if (healthEnabled) {
    await health.probe();
    health.start();
  }

  const agent = new http.Agent({ keepAlive: true, maxSockets: 512, maxFreeSockets: 128 });
  const proxy = createProxyServer({ agent, xfwd: true });

  const contexts = new WeakMap<http.IncomingMessage, RequestContext>();

  proxy.on("proxyReq", (proxyReq, req) => {
    const ctx = contexts.get(req);
    if (!ctx) return;
    ctx.reusedSocket = proxyReq.reusedSocket;
    proxyReq.setTimeout(proxyTimeoutMs, () => {
      ctx.timedOut = true;
      proxyReq.destroy(
        Object.assign(new Error(`no answer within ${proxyTimeoutMs} ms`), { code: "ETIMEDOUT" }),
      );
    });
  });

  proxy.on("proxyRes", (proxyRes, req) => {
    const ctx = contexts.get(req);
    if (!ctx) return;
    // Added to the upstream headers (not res.setHeader) because the proxy
    // copies upstream headers over res and would drop a set-cookie of ours.
    proxyRes.headers[BACKEND_HEADER] = ctx.backend;
    if (ctx.setCookie) {
      const existing = proxyRes.headers["set-cookie"] ?? [];
      proxyRes.headers["set-cookie"] = [...existing, ctx.setCookie];
    }
  });

  // Errors the callback does not see (e.g. after the client went away) must not crash the router.
  proxy.on("error", (err) => log({ event: "proxy-error", message: err.message }));

  const sendJson = (
    res: http.ServerResponse,
    status: number,
    body: unknown,
    extra: Record<string, string> = {},
  ) => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const text = JSON.stringify(body);
    res.writeHead(status, {
      "content-type": "application/json; charset=utf-8",
      "content-length": Buffer.byteLength(text),
      "cache-control": "no-store",
      ...extra,
    });
    res.end(text);
  };

  const forward = (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    ctx: RequestContext,
    retry: boolean,
  ) => {
    const attempt = ctx.attempt;
    proxy.web(
      req,
      res,
      // On a retry the original body stream is already consumed; retries only
      // happen for body-less requests, so an empty stream is the exact body.
      // A retry never reuses a pooled socket (agent: false): a stale pooled
      // socket is one of the failures it is recovering from.
      retry ? { target: ctx.instance, buffer: Readable.from([]), agent: false } : { target: ctx.instance },
      (err) => {
        if (attempt !== ctx.attempt) return; // late error of an attempt already given up on
        onUpstreamError(err as NodeJS.ErrnoException, req, res, ctx);
      },
    );
  };

  const onUpstreamError = (
    err: NodeJS.ErrnoException,
    req: http.IncomingMessage,
    res: http.ServerResponse,
    ctx: RequestContext,
  ) => {
    if (res.writableEnded || res.destroyed) return; // client already gone, nothing to answer
    const code = ctx.timedOut ? "ETIMEDOUT" : (err.code ?? "ECONNERROR");
    ctx.series.upstreamFailure(Date.now());
    // A failure on a fresh connection is proof the instance is gone; one on a
    // reused keep-alive socket may be the benign idle-close race.
    const definitive = !ctx.reusedSocket && !ctx.timedOut;
    if (healthEnabled) health.reportFailure(ctx.instance, code, definitive);

    if (res.headersSent) {
      // Part of the answer is already out; the only honest thing left is to cut it.
      ctx.failure = ctx.timedOut ? "timeout" : "connection";
      res.destroy();
      return;
    }
    if (!ctx.timedOut && ctx.attempt === 1 && isRetryable(req)) {
      const b = store.current.backends[ctx.backend];
      const healthy = (b?.instances ?? []).filter(isUp);
      // Another healthy instance of the same backend; failing that, the same
      // instance over a fresh connection if the failure may just have been a
      // stale keep-alive socket.
      const next = rr.next(ctx.backend, healthy, ctx.instance) ?? (definitive ? undefined : ctx.instance);
      if (next) {
        ctx.attempt = 2;
        ctx.instance = next;
        ctx.reusedSocket = false;
        forward(req, res, ctx, true);
        return;
      }
    }
    ctx.failure = ctx.timedOut ? "timeout" : "connection";
    sendJson(
      res,
      ctx.timedOut ? 504 : 502,
      {
        error: ctx.timedOut ? "backend_timeout" : "backend_unreachable",
        message: `backend "${ctx.backend}" (${ctx.version}) instance ${ctx.instance}: ${code}`,
        backend: ctx.backend,
      },
      { [BACKEND_HEADER]: ctx.backend },
    );
  };

  const handle = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const started = performance.now();
    const table = store.current;
    const vs = views(table);
    const stickyName = table.sticky ? readStickyCookie(req.headers.cookie) : undefined;
    const pick = pickBackend(vs, {
      override: readOverride(req.headers[OVERRIDE_HEADER]),
      sticky: stickyName,
      random,
    });
    if (!pick.ok) {
      stats.unrouted();
      sendJson(res, pick.status, {
        error: pick.status === 503 ? "no_healthy_backend" : "bad_override",
        message: pick.message,
      });
      return;
    }
    const backend = table.backends[pick.backend]!;
    const healthy = vs.find((v) => v.name === pick.backend)!.healthy;
    const ctx: RequestContext = {
      backend: pick.backend,
      version: backend.version,
      series: stats.for(pick.backend, backend.version),
      instance: rr.next(pick.backend, healthy)!,
      attempt: 1,
      started,
      // Only a fresh (weighted/fallback) assignment sets the cookie: an
      // override is a test request and must not pin the tester's browser.
      setCookie:
        table.sticky &&
        (pick.reason === "weighted" || pick.reason === "fallback") &&
        stickyName !== pick.backend
          ? stickyCookie(pick.backend)
          : undefined,
      failure: undefined,
      timedOut: false,
      reusedSocket: false,
    };
    contexts.set(req, ctx);
    ctx.series.inflight++;
    res.once("close", () => {
      ctx.series.inflight--;
      const latencyMs = performance.now() - ctx.started;
      const now = Date.now();
      if (ctx.failure) {
        ctx.series.record({ kind: ctx.failure, latencyMs }, now);
        return;
      }
      // A client that hangs up before the answer is complete is logged the
      // nginx way (499): counted, not an error of the backend.
      const status = res.writableFinished ? res.statusCode : 499;
      ctx.series.record({ kind: "response", status, latencyMs }, now);
      metrics.observe(ctx.backend, ctx.version, latencyMs / 1000);
    });
    forward(req, res, ctx, false);
  };

  const proxyServer = http.createServer(handle);
  const adminServer = http.createServer(
    createAdminHandler({
      token: opts.token,
      table: () => store.current,
      update,
      views: () => views(),
      inflight,
      health,
      stats,
      metrics,
      defaultWindowSeconds: opts.defaultWindowSeconds ?? 30,
    }),
  );

  try {
    await listen(proxyServer, opts.port ?? 0);
    await listen(adminServer, opts.adminPort ?? 0);
  } catch (err) {
    health.stop();
    proxyServer.close();
    adminServer.close();
    agent.destroy();
    throw err;
  }
  const port = (proxyServer.address() as AddressInfo).port;
  const adminPort = (adminServer.address() as AddressInfo).port;
  log({
    event: "listening",
    port,
    adminPort,
    tableVersion: store.current.version,
    weights: weightsOf(store.current),
  });

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      health.stop();
      const closed = Promise.all([closeServer(proxyServer), closeServer(adminServer)]);
      proxyServer.closeIdleConnections();
      adminServer.closeIdleConnections();
      // Let in-flight requests finish (graceful stop), bounded by drainTimeoutMs.
      const deadline = Date.now() + (opts.drainTimeoutMs ?? 10_000);
      while (stats.all().some((s) => s.inflight > 0) && Date.now() < deadline) await sleep(20);
      proxyServer.closeAllConnections();
      adminServer.closeAllConnections();
      await closed;
      agent.destroy();
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
    stats,
    health,
    close,
  };
}

function isRetryable(req: http.IncomingMessage): boolean {
  if (!RETRYABLE_METHODS.has(req.method ?? "")) return false;
  if (req.headers["transfer-encoding"]) return false;
  const len = req.headers["content-length"];
  return len === undefined || len === "0";
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

function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
