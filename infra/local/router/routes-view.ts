import type { DataPlaneState } from "./data-plane";
import { serverName } from "./haproxy-config";
import { BACKEND_NAMES, type BackendName, type RoutingTable } from "./routing-table";

// What GET /admin/routes answers: the persisted table next to what HAProxy
// itself reports (its routing map and its servers' health), so a caller can
// tell "the router stored it" from "the data plane applies it". Pure.

export interface BackendRoutes {
  version: string;
  weight: number;
  healthy: string[];
  unhealthy: string[];
  /** Requests in flight in HAProxy for this backend. */
  inflight: number;
  /** Weight 0 and still finishing requests. */
  draining: boolean;
}

export interface RoutesView {
  table: RoutingTable;
  /** HAProxy's routing map: the table version, green's share and stickiness in effect (null: none yet). */
  applied: { version: number; split: { blue: number; green: number }; sticky: boolean } | null;
  /** Share of un-pinned traffic per backend right now, health included (0..1). */
  effective: Record<string, number>;
  backends: Record<string, BackendRoutes>;
}

/**
 * Share of un-pinned traffic (no override, no cookie) each backend of the
 * table gets now, from HAProxy's rule: green's share of the draw when both
 * have a healthy instance, everything to the one that has, nothing when
 * neither has. Configured 10% to a backend with no healthy instance is
 * effectively 0%: that is what a read-back must see.
 */
export function effectiveShares(
  backends: readonly BackendName[],
  greenBasisPoints: number,
  up: Record<BackendName, boolean>,
): Record<string, number> {
  const shares: Record<string, number> = Object.fromEntries(backends.map((b) => [b, 0]));
  const green = greenBasisPoints / 10_000;
  if (up.blue && up.green) {
    if (backends.includes("blue")) shares.blue = 1 - green;
    if (backends.includes("green")) shares.green = green;
  } else if (up.blue) shares.blue = 1;
  else if (up.green) shares.green = 1;
  return shares;
}

export function routesView(table: RoutingTable, state: DataPlaneState): RoutesView {
  const present = BACKEND_NAMES.filter((b) => table.backends[b]);
  const backends: Record<string, BackendRoutes> = {};
  const up = { blue: false, green: false };
  for (const name of present) {
    const b = table.backends[name]!;
    const isUp = (i: string) =>
      state.servers.some((s) => s.backend === name && s.name === serverName(i) && s.up && !s.retiring);
    const healthy = b.instances.filter(isUp);
    up[name] = healthy.length > 0;
    const inflight = state.inflight[name] ?? 0;
    backends[name] = {
      version: b.version,
      weight: b.weight,
      healthy,
      unhealthy: b.instances.filter((i) => !isUp(i)),
      inflight,
      draining: b.weight === 0 && inflight > 0,
    };
  }
  const a = state.applied;
  const green = a ? Math.round(a.greenBasisPoints) / 100 : 0;
  return {
    table,
    applied: a ? { version: a.version, split: { blue: 100 - green, green }, sticky: a.sticky } : null,
    effective: effectiveShares(present, a?.greenBasisPoints ?? 0, up),
    backends,
  };
}
