import type {
  AppliedRoutes,
  BackendSpec,
  TrafficRouter,
  TrafficSplit,
} from "../../lib/drivers/traffic-router";
import { RouterClient, type RoutesView } from "./router/client";
import type { RoutesPatch } from "./router/routing-table";

/**
 * `TrafficRouter` on the local router (infra/local/router) through its admin
 * API. One router process serves one service+environment (router-process.ts
 * starts one per scope); its table has at most two backends named `blue` and
 * `green`, which are also the values of the `x-shipshape-version` override.
 * Weights are stored as the percentages of the split.
 *
 * Idempotency comes from the router: a patch that changes nothing keeps the
 * table version, so a retried activity gets the same `tableVersion` back.
 */
export interface LocalTrafficRouterOptions {
  adminUrl: string;
  token: string;
  timeoutMs?: number;
  /** Health path the router probes on each instance (the service's run.healthPath); router default otherwise. */
  healthPath?: string;
}

type Scope = { service: string; environment: string };
type Resolver = (scope: Scope) => LocalTrafficRouterOptions;

const NAMES = ["blue", "green"] as const;

function toApplied(view: RoutesView): AppliedRoutes {
  const b = view.table.backends;
  const wBlue = b.blue?.weight ?? 0;
  const wGreen = b.green?.weight ?? 0;
  const total = wBlue + wGreen;
  const green = total === 0 ? 0 : Math.round((wGreen / total) * 10_000) / 100;
  const backends: AppliedRoutes["backends"] = {};
  for (const name of NAMES) {
    const be = b[name];
    if (be) backends[name] = { version: be.version, instances: [...be.instances] };
  }
  return { tableVersion: view.table.version, split: { blue: 100 - green, green }, backends };
}

function checkSplit(split: TrafficSplit): void {
  const ok = (n: number) => Number.isFinite(n) && n >= 0 && n <= 100;
  if (!ok(split.blue) || !ok(split.green) || Math.abs(split.blue + split.green - 100) > 1e-9) {
    throw new Error(`invalid split ${JSON.stringify(split)}: blue and green must be 0..100 and sum to 100`);
  }
}

export function createLocalTrafficRouter(options: LocalTrafficRouterOptions | Resolver): TrafficRouter {
  const clients = new Map<string, RouterClient>();
  const client = (scope: Scope): RouterClient => {
    const o = typeof options === "function" ? options(scope) : options;
    const k = `${o.adminUrl} ${o.token}`;
    let c = clients.get(k);
    if (!c) {
      c = new RouterClient({ adminUrl: o.adminUrl, token: o.token, timeoutMs: o.timeoutMs ?? 10_000 });
      clients.set(k, c);
    }
    return c;
  };

  return {
    async setBackends(scope, backends) {
      const c = client(scope);
      const healthPath = (typeof options === "function" ? options(scope) : options).healthPath;
      const current = (await c.getRoutes()).table.backends;
      // The serving blue is replaced (finalize) or kept, never detached in favour of a green of
      // its own version: that would leave users on a backend the rollback then destroys.
      if (current.blue && !backends.blue && backends.green?.version === current.blue.version) {
        throw new Error(
          `refusing to detach the serving blue backend ${current.blue.version} for a green of the same version`,
        );
      }
      const patch: NonNullable<RoutesPatch["backends"]> = {};
      const only =
        backends.blue && !backends.green ? "blue" : !backends.blue && backends.green ? "green" : null;
      for (const name of NAMES) {
        const spec: BackendSpec | undefined = backends[name];
        if (!spec) {
          patch[name] = null;
          continue;
        }
        // Keep the current weight of an existing backend; a new one gets all
        // traffic when it is alone, else none (green starts dark).
        const weight = only === name ? 100 : (current[name]?.weight ?? (name === "blue" ? 100 : 0));
        const prev = current[name];
        patch[name] = {
          version: spec.version,
          instances: [...spec.instances],
          weight,
          ...(healthPath ? { healthPath } : prev?.healthPath ? { healthPath: prev.healthPath } : {}),
        };
      }
      const res = await c.setRoutes({ backends: patch });
      return toApplied(res);
    },

    async setWeights(scope, split) {
      checkSplit(split);
      const c = client(scope);
      const view = await c.getRoutes();
      const weights: Record<string, number> = {};
      for (const name of NAMES) {
        const w = split[name];
        if (view.table.backends[name]) weights[name] = w;
        else if (w > 0) throw new Error(`cannot send ${w}% to ${name}: no ${name} backend registered`);
      }
      const res = await c.setRoutes({ weights });
      return toApplied(res);
    },

    async getRoutes(scope) {
      return toApplied(await client(scope).getRoutes());
    },

    async waitApplied(scope, tableVersion, timeoutMs) {
      const c = client(scope);
      const deadline = Date.now() + timeoutMs;
      const view = await c.waitForVersion(tableVersion, { timeoutMs });
      // "Applied" means the data plane can honour it: every backend with weight
      // also has a healthy instance (otherwise its share silently goes elsewhere).
      let current = view;
      for (;;) {
        const starving = NAMES.filter(
          (n) => (current.backends[n]?.weight ?? 0) > 0 && (current.backends[n]?.healthy.length ?? 0) === 0,
        );
        if (starving.length === 0) return toApplied(current);
        if (Date.now() >= deadline) {
          throw new Error(
            `router table ${current.table.version} is in place but ${starving.join(", ")} has weight and no healthy instance`,
          );
        }
        await new Promise((r) => setTimeout(r, 50));
        current = await c.getRoutes();
      }
    },
  };
}
