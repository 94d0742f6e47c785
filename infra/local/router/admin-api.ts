import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { z } from "zod";
import type { RouterMetrics } from "./prometheus";
import type { RoutesView } from "./routes-view";
import { PatchError, type RoutesPatch, type RoutingTable, routesPatchSchema } from "./routing-table";
import type { StatsSnapshot } from "./stats";

// Admin API of the router's control process, on its own listener so it is
// never reachable through the proxy port. Every route except GET /healthz
// (liveness of the router process itself, for supervisors) needs the token,
// given as `Authorization: Bearer <token>` (what Prometheus' `authorization`
// scrape option sends) or `x-shipshape-token`. Missing token: 401; wrong
// token: 403. A data plane that cannot answer (HAProxy restarting) is a 503,
// which callers retry.

export interface InstanceHealth {
  backend: string;
  instance: string;
  /** up / down / retiring (left the table, finishing its requests). */
  state: "up" | "down" | "retiring";
  /** HAProxy's own status (UP, DOWN, "UP 1/2" going down, "DOWN 1/2" coming up, MAINT…). */
  status: string;
  checkStatus: string;
  lastChangeSeconds: number | null;
  failedChecks: number;
}

export interface AdminDeps {
  token: string;
  table(): RoutingTable;
  update(patch: RoutesPatch): Promise<{ table: RoutingTable; changed: boolean }>;
  routes(): Promise<RoutesView>;
  instances(): Promise<InstanceHealth[]>;
  /** Waits until every request HAProxy has finished is in the statistics. */
  flush(): Promise<void>;
  stats(windowSeconds: number): Promise<StatsSnapshot>;
  maxWindowSeconds: number;
  /** Default window for GET /admin/stats. */
  defaultWindowSeconds: number;
  metrics: RouterMetrics;
}

/** The data plane did not answer or did not apply a change (HAProxy restarting). */
export class DataPlaneUnavailable extends Error {}

const MAX_BODY = 256 * 1024;

export function createAdminHandler(d: AdminDeps) {
  const expected = digest(d.token);

  const authorized = (req: IncomingMessage, res: ServerResponse): boolean => {
    const auth = req.headers.authorization;
    const given = auth?.toLowerCase().startsWith("bearer ")
      ? auth.slice(7).trim()
      : (header(req, "x-shipshape-token") ?? undefined);
    if (!given) {
      res.setHeader("www-authenticate", 'Bearer realm="shipshape-router"');
      json(res, 401, {
        error: "unauthorized",
        message: "admin token required (Authorization: Bearer <token>)",
      });
      return false;
    }
    // Compare digests so the comparison is constant-time whatever the lengths.
    if (!timingSafeEqual(digest(given), expected)) {
      json(res, 403, { error: "forbidden", message: "admin token rejected" });
      return false;
    }
    return true;
  };

  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://admin");
    const route = `${req.method} ${url.pathname}`;
    try {
      if (route === "GET /healthz") return json(res, 200, { ok: true });
      const known = ["/admin/routes", "/admin/stats", "/admin/health", "/metrics"];
      if (!known.includes(url.pathname)) return json(res, 404, { error: "not_found", message: url.pathname });
      if (!authorized(req, res)) return;

      switch (route) {
        case "GET /admin/routes":
          return json(res, 200, await d.routes());

        case "PUT /admin/routes": {
          const body = await readJson(req);
          const parsed = routesPatchSchema.safeParse(body);
          if (!parsed.success) {
            return json(res, 400, { error: "invalid_routes", message: z.prettifyError(parsed.error) });
          }
          const { table, changed } = await d.update(parsed.data);
          return json(res, 200, { version: table.version, changed, ...(await d.routes()) });
        }

        case "GET /admin/stats": {
          const raw = url.searchParams.get("window");
          const window = raw === null ? d.defaultWindowSeconds : Number(raw);
          if (!Number.isInteger(window) || window < 1 || window > d.maxWindowSeconds) {
            return json(res, 400, {
              error: "invalid_window",
              message: `window must be an integer number of seconds in 1..${d.maxWindowSeconds}`,
            });
          }
          await d.flush();
          return json(res, 200, { tableVersion: d.table().version, ...(await d.stats(window)) });
        }

        case "GET /admin/health": {
          const [instances, routes] = await Promise.all([d.instances(), d.routes()]);
          return json(res, 200, { instances, ...routes });
        }

        case "GET /metrics": {
          await d.flush();
          const text = await d.metrics.text();
          res.writeHead(200, { "content-type": d.metrics.registry.contentType });
          res.end(text);
          return;
        }

        default:
          res.setHeader("allow", url.pathname === "/admin/routes" ? "GET, PUT" : "GET");
          return json(res, 405, { error: "method_not_allowed", message: route });
      }
    } catch (err) {
      if (err instanceof PatchError)
        return json(res, err.status, { error: "rejected", message: err.message });
      if (err instanceof BodyError) return json(res, err.status, { error: "bad_body", message: err.message });
      if (err instanceof DataPlaneUnavailable)
        return json(res, 503, { error: "data_plane_unavailable", message: err.message });
      return json(res, 500, { error: "internal", message: (err as Error).message });
    }
  };
}

class BodyError extends Error {
  constructor(
    message: string,
    readonly status: 400 | 413 | 415,
  ) {
    super(message);
  }
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const type = req.headers["content-type"] ?? "";
  if (type && !type.includes("json")) throw new BodyError("content-type must be application/json", 415);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new BodyError(`body larger than ${MAX_BODY} bytes`, 413);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch (err) {
    throw new BodyError(`body is not valid JSON: ${(err as Error).message}`, 400);
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
  });
  res.end(text);
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function digest(s: string): Buffer {
  return createHash("sha256").update(s).digest();
}
