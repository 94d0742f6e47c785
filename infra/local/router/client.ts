import { z } from "zod";
import type { InstanceHealth } from "./admin-api";
import { type RoutesPatch, routingTableSchema } from "./routing-table";
import type { StatsSnapshot } from "./stats";

// Typed client of the router admin API, for the traffic activities. It is
// stateless and every call is a single HTTP request, so activities can retry
// it freely; setRoutes is idempotent on the server side (same body twice =
// same table, same version).

export const routesViewSchema = z.object({
  table: routingTableSchema,
  /** What HAProxy holds: the table version and split in effect in the data plane. */
  applied: z
    .object({
      version: z.number().int(),
      split: z.object({ blue: z.number(), green: z.number() }),
      sticky: z.boolean(),
    })
    .nullable(),
  effective: z.record(z.string(), z.number()),
  backends: z.record(
    z.string(),
    z.object({
      version: z.string(),
      weight: z.number(),
      healthy: z.array(z.string()),
      unhealthy: z.array(z.string()),
      inflight: z.number(),
      draining: z.boolean(),
    }),
  ),
});
export type RoutesView = z.infer<typeof routesViewSchema>;

const setRoutesResultSchema = routesViewSchema.extend({ version: z.number().int(), changed: z.boolean() });
export type SetRoutesResult = z.infer<typeof setRoutesResultSchema>;

export type RouterStatsResponse = StatsSnapshot & { tableVersion: number };
export type RouterHealthResponse = RoutesView & { instances: InstanceHealth[] };

export class RouterClientError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly body: unknown,
  ) {
    super(message);
    this.name = "RouterClientError";
  }
}

export interface RouterClientOptions {
  /** Base URL of the admin listener, e.g. http://127.0.0.1:8081 */
  adminUrl: string;
  token: string;
  /** Per-request timeout. */
  timeoutMs?: number;
}

export class RouterClient {
  private readonly base: string;
  private readonly timeoutMs: number;

  constructor(private readonly opts: RouterClientOptions) {
    this.base = opts.adminUrl.replace(/\/+$/, "");
    this.timeoutMs = opts.timeoutMs ?? 5000;
  }

  async getRoutes(): Promise<RoutesView> {
    return routesViewSchema.parse(await this.request("GET", "/admin/routes"));
  }

  /** Applies a patch; returns the table version in effect afterwards (unchanged when the patch was already applied). */
  async setRoutes(patch: RoutesPatch): Promise<SetRoutesResult> {
    return setRoutesResultSchema.parse(await this.request("PUT", "/admin/routes", patch));
  }

  async stats(windowSeconds?: number): Promise<RouterStatsResponse> {
    const q = windowSeconds === undefined ? "" : `?window=${encodeURIComponent(String(windowSeconds))}`;
    return (await this.request("GET", `/admin/stats${q}`)) as RouterStatsResponse;
  }

  async health(): Promise<RouterHealthResponse> {
    return (await this.request("GET", "/admin/health")) as RouterHealthResponse;
  }

  async metrics(): Promise<string> {
    const res = await this.fetch("GET", "/metrics");
    return res.text();
  }

  /**
   * Polls until the data plane itself (HAProxy's routing map, read through the
   * Runtime API) holds table `version` or later. This is the read-back the
   * workflow needs before starting a bake clock: "HAProxy applies it", not
   * "we sent it". Throws on timeout.
   */
  async waitForVersion(
    version: number,
    { timeoutMs = 5000, intervalMs = 50 }: { timeoutMs?: number; intervalMs?: number } = {},
  ): Promise<RoutesView> {
    const deadline = Date.now() + timeoutMs;
    let last: number | undefined;
    for (;;) {
      try {
        const view = await this.getRoutes();
        last = view.applied?.version;
        if (last !== undefined && last >= version) return view;
      } catch (err) {
        // Auth and validation errors will not fix themselves; connection errors may (router restarting).
        if (err instanceof RouterClientError && err.status !== undefined && err.status < 500) throw err;
      }
      if (Date.now() >= deadline) {
        throw new RouterClientError(
          `router did not reach table version ${version} within ${timeoutMs} ms (last seen: ${last ?? "unreachable"})`,
          undefined,
          undefined,
        );
      }
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }

  private async fetch(method: string, path: string, body?: unknown): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.opts.token}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw new RouterClientError(
        `router admin ${method} ${path} failed: ${(err as Error).message}`,
        undefined,
        undefined,
      );
    }
    if (!res.ok) {
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // keep the raw text
      }
      const message = (parsed as { message?: string } | undefined)?.message ?? text;
      throw new RouterClientError(
        `router admin ${method} ${path}: HTTP ${res.status}: ${message}`,
        res.status,
        parsed,
      );
    }
    return res;
  }

  private async request(method: string, path: string, body?: unknown): Promise<unknown> {
    return (await this.fetch(method, path, body)).json();
  }
}
