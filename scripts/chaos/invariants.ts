/**
 * The deployment invariants (users always served, one outcome, nothing leaks,
 * data kept, every decision recorded), checked after every chaos run against the
 * machine itself (processes, Pulumi backend, database catalog, router) and
 * the deployment's own account (status query, Temporal history). Each check
 * returns the violations it found; an empty list means the run is clean.
 */

import { localStackName } from "../../infra/local/program";
import type { PulumiSettings } from "../../infra/pulumi/settings";
import type { DeploymentResult } from "../../lib/deployment/types";
import type { TrafficRouter } from "../../lib/drivers/traffic-router";
import { findLeftovers } from "../../lib/migrations/leftovers";
import { versionSchemaName } from "../../lib/migrations/versioned-schema";
import { portIsFree } from "../../lib/runtime/free-port";
import type { DeploymentStatus } from "../../workflows/deployment/state";
import type { FaultRecord } from "./faults";
import type { HistoryEvent } from "./history";
import type { RunPlan } from "./plan";
import { instancesByStack, pendingOperations, pulumiLocks, pulumiProcesses, pulumiStacks } from "./system";
import type { ConfirmedOrder, ErrorClass, TimelineEntry } from "./traffic";

export interface Violation {
  invariant:
    | "outcome"
    | "load"
    | "serving"
    | "leak"
    | "data"
    | "history"
    | "harness"
    | "worker-stays-up"
    | "second-service";
  detail: string;
}

/** A worker that ended without a worker-kill fault asking for it (seen by the operator, which restarts it). */
export interface WorkerExit {
  pid: number;
  /** Exit code, or the signal that ended it. */
  code: number | null;
  signal: string | null;
  at: number;
}

export interface OperatorAction {
  at: number;
  kind: "approve" | "resume";
  message: string;
}

/** Everything one run left for the checks. */
export interface RunRecord {
  plan: RunPlan;
  scope: { service: string; environment: string };
  /** The blue version the run must leave behind (promoted: the new one). */
  expectedBlue: string;
  result: DeploymentResult | null;
  failure: string | null;
  status: DeploymentStatus | null;
  events: HistoryEvent[];
  faults: FaultRecord[];
  operator: OperatorAction[];
  startedAt: number;
  endedAt: number;
  /** The last completed migration after the run. */
  currentMigration: string;
  /** Instance ports (from the router's routes) seen during the run, per version. */
  portsSeen: Map<string, Set<number>>;
  /** When all traffic was back on blue after a rollback (the restoreTraffic compensation), if it ran. */
  trafficRestoredAt: number | null;
}

// ─────────────────────────────────────────────────────────────── worker

/**
 * The worker never exits on its own: a transient outage (database, Temporal
 * server, metrics) is something it rides out. Only a worker-kill fault ends it.
 */
export function checkWorkerStaysUp(exits: WorkerExit[], startedAt: number, workerLog: string): Violation[] {
  return exits.map((e) => ({
    invariant: "worker-stays-up" as const,
    detail:
      `worker ${e.pid} exited on its own (${e.signal ? `signal ${e.signal}` : `code ${e.code}`}) ` +
      `${((e.at - startedAt) / 1000).toFixed(1)} s into the run; its log: ${workerLog}`,
  }));
}

// ─────────────────────────────────────────────────────────────── outcome

export function checkOutcome(r: RunRecord): Violation[] {
  const v: Violation[] = [];
  if (!r.result)
    return [{ invariant: "outcome", detail: `the deployment did not end: ${r.failure ?? "unknown"}` }];
  const { outcome, reason } = r.result;
  const abort = r.faults.find((f) => f.kind === "abort" && f.accepted);
  const lateAbort = r.faults.find((f) => f.kind === "abort-in-finalize" && f.injectedAt !== null);
  const injected = r.faults.filter((f) => f.injectedAt !== null && f.kind !== "approve");
  if (outcome === "needs-attention") {
    // Every fault of a run is repaired, so nothing justifies leaving it to a human.
    v.push({ invariant: "outcome", detail: `needs-attention with every fault repaired: ${reason}` });
  }
  if (r.plan.health === "bad" && outcome === "promoted") {
    v.push({ invariant: "outcome", detail: `bad version ${r.plan.version} was PROMOTED` });
  }
  if (abort && outcome !== "rolled-back") {
    v.push({
      invariant: "outcome",
      detail: `abort was accepted (${abort.detail}) but the outcome is ${outcome}`,
    });
  }
  // Finalizing is the point of no return: an abort then is refused, and the deployment still promotes.
  if (lateAbort?.accepted)
    v.push({ invariant: "outcome", detail: `abort accepted while finalizing: ${lateAbort.detail}` });
  if (lateAbort && outcome !== "promoted")
    v.push({
      invariant: "outcome",
      detail: `an abort refused while finalizing, yet the outcome is ${outcome}`,
    });
  if (outcome === "rolled-back") {
    if (!reason) v.push({ invariant: "outcome", detail: "rolled back without a reason" });
    if (r.plan.health === "healthy" && !abort && injected.length === 0) {
      v.push({
        invariant: "outcome",
        detail: `healthy version rolled back with no fault to explain it: ${reason}`,
      });
    }
  }
  return v;
}

// ─────────────────────────────────────────────────────────────── load

/** How long after PostgreSQL is back the shop may still fail (its pool reconnects, health checks pass again). */
export const DB_RECOVERY_GRACE_MS = 10_000;
/** How long after traffic is restored to blue a bad version's answers may still arrive (requests in flight). */
export const IN_FLIGHT_GRACE_MS = 2_000;
/** After the router's HAProxy is back: requests that were in flight on the killed one still report. */
export const PROXY_RESTART_GRACE_MS = 1_000;

export interface LoadTally {
  requests: number;
  byClass: Record<ErrorClass, number>;
  /** Errors per window: a fault kind whose window they fell in, "bad-version", or "none". */
  byWindow: Record<string, number>;
  /** Errors the tolerance does not cover. */
  unexplained: Array<{ at: number; errorClass: ErrorClass; version: string | null }>;
  /** GETs the users sent again after their connection closed without an answer (reported, not errors when the retry was answered). */
  retriedAfterClose: number;
}

/**
 * Attributes every failed request of the run. Explained: anything while the
 * database is down (+ grace) — the shop cannot answer without it, whatever
 * the deployment does; app errors of a bad version until traffic is back on
 * blue (+ in-flight grace) — that is the canary doing its job; a failed
 * connection or a router answer while the router's HAProxy was killed and
 * not yet back (+ grace) — nothing can serve users while the only proxy is
 * dead. Everything else — a request answered by a dead backend or a 5xx of
 * a healthy version — is unexplained, and the tolerance for it is zero. A
 * 503 for lack of a backend is the serving invariant's (checkServing): it is
 * counted here, never explained by a proxy restart.
 */
export function tallyLoad(r: RunRecord, entries: TimelineEntry[]): LoadTally {
  const t: LoadTally = {
    requests: entries.length,
    byClass: { "dead-backend": 0, "no-backend": 0, app: 0 },
    byWindow: {},
    unexplained: [],
    retriedAfterClose: entries.filter((e) => e.retriedAfter !== undefined).length,
  };
  const dbWindows = databaseOutages(r);
  const windowOf = (at: number) => {
    for (const f of r.faults) {
      if (f.injectedAt === null) continue;
      const end = (f.repairedAt ?? r.endedAt) + (f.kind === "postgres-stop" ? DB_RECOVERY_GRACE_MS : 0);
      if (at >= f.injectedAt && at <= end) return f.kind;
    }
    return "none";
  };
  const proxyDown = r.faults
    .filter((f) => f.kind === "proxy-kill" && f.injectedAt !== null)
    .map((f) => [f.injectedAt as number, (f.repairedAt ?? r.endedAt) + PROXY_RESTART_GRACE_MS] as const);
  const badUntil = (r.trafficRestoredAt ?? r.endedAt) + IN_FLIGHT_GRACE_MS;
  for (const e of entries) {
    if (e.ok || !e.errorClass) continue;
    t.byClass[e.errorClass]++;
    const inDb = dbWindows.some(([a, b]) => e.at >= a && e.at <= b);
    const badCanary =
      e.errorClass === "app" && r.plan.health === "bad" && e.version === r.plan.version && e.at <= badUntil;
    const noProxy = e.errorClass === "dead-backend" && proxyDown.some(([a, b]) => e.at >= a && e.at <= b);
    const w = inDb ? "postgres-stop" : badCanary ? "bad-version" : noProxy ? "proxy-kill" : windowOf(e.at);
    t.byWindow[w] = (t.byWindow[w] ?? 0) + 1;
    if (!inDb && !badCanary && !noProxy && e.errorClass !== "no-backend")
      t.unexplained.push({ at: e.at, errorClass: e.errorClass, version: e.version });
  }
  return t;
}

/** When PostgreSQL was down in the run, each window widened by DB_RECOVERY_GRACE_MS. */
export function databaseOutages(r: Pick<RunRecord, "faults" | "endedAt">): Array<readonly [number, number]> {
  return r.faults
    .filter((f) => f.kind === "postgres-stop" && f.injectedAt !== null)
    .map((f) => [f.injectedAt as number, (f.repairedAt ?? r.endedAt) + DB_RECOVERY_GRACE_MS] as const);
}

export function checkLoad(tally: LoadTally): Violation[] {
  if (tally.unexplained.length === 0) return [];
  const byClass = new Map<string, number>();
  for (const u of tally.unexplained) {
    const k = `${u.errorClass}${u.version ? ` (${u.version})` : ""}`;
    byClass.set(k, (byClass.get(k) ?? 0) + 1);
  }
  return [
    {
      invariant: "load",
      detail: `${tally.unexplained.length} failed request(s) outside any database outage or bad canary: ${[
        ...byClass,
      ]
        .map(([k, n]) => `${n}× ${k}`)
        .join(", ")} (first at ${new Date(tally.unexplained[0]?.at ?? 0).toISOString()})`,
    },
  ];
}

// ─────────────────────────────────────────────────────────────── serving

/** A version whose instances a deployment destroyed, and when (the destroying activity completed). */
export interface DestroyedVersion {
  version: string;
  at: number;
  by: string;
  run: number;
}

/**
 * An answer stamped up to this long after the destroy completed may still be
 * one the instance sent before it was stopped: the probe stamps a response
 * when its event loop gets to it, and two shared cores can hold it back.
 */
export const DESTROYED_ANSWER_GRACE_MS = 1_000;

/**
 * The versions a run destroyed, read from its history: green (the run's
 * version) when `destroyGreen` completed, the previous blue when
 * `decommissionBlue` completed. A redeploy of the serving version has the
 * serving version as "green": should it ever get to destroyGreen, blue itself
 * is recorded destroyed, and every answer blue gives afterwards is a violation.
 */
export function destroyedIn(
  events: HistoryEvent[],
  run: { index: number; version: string; previousBlue: string },
): DestroyedVersion[] {
  const out: DestroyedVersion[] = [];
  for (const e of events) {
    if (e.type !== "ACTIVITY_TASK_COMPLETED") continue;
    if (e.activity === "destroyGreen")
      out.push({ version: run.version, at: e.at, by: "destroyGreen", run: run.index });
    if (e.activity === "decommissionBlue")
      out.push({ version: run.previousBlue, at: e.at, by: "decommissionBlue", run: run.index });
  }
  return out;
}

export interface ServingTally {
  /** 503 no_healthy_backend answers outside a database outage. */
  noBackend: Array<{ at: number }>;
  /** Answers by a version after it had been destroyed (+ grace). */
  servedByDestroyed: Array<{
    at: number;
    version: string;
    instance: string | null;
    destroyed: DestroyedVersion;
  }>;
}

/**
 * What a probe on the serving address may never see, in any run: a 503 for
 * lack of a backend — except while PostgreSQL is down (+ grace), when the
 * shop's own /health fails on every instance and the router rightly has no
 * healthy one — and an answer from a version that was destroyed (by this run
 * or any earlier one: `destroyed` is the campaign's list so far).
 */
export function tallyServing(
  entries: TimelineEntry[],
  destroyed: DestroyedVersion[],
  dbWindows: Array<readonly [number, number]>,
): ServingTally {
  const t: ServingTally = { noBackend: [], servedByDestroyed: [] };
  const firstDestroy = new Map<string, DestroyedVersion>();
  for (const d of destroyed) {
    const seen = firstDestroy.get(d.version);
    if (!seen || d.at < seen.at) firstDestroy.set(d.version, d);
  }
  for (const e of entries) {
    if (e.errorClass === "no-backend" && !dbWindows.some(([a, b]) => e.at >= a && e.at <= b))
      t.noBackend.push({ at: e.at });
    const d = e.version === null ? undefined : firstDestroy.get(e.version);
    if (d && e.at > d.at + DESTROYED_ANSWER_GRACE_MS)
      t.servedByDestroyed.push({
        at: e.at,
        version: e.version as string,
        instance: e.instance ?? null,
        destroyed: d,
      });
  }
  return t;
}

export function checkServing(t: ServingTally): Violation[] {
  const v: Violation[] = [];
  const iso = (ms: number) => new Date(ms).toISOString();
  if (t.noBackend.length > 0)
    v.push({
      invariant: "serving",
      detail: `${t.noBackend.length} request(s) answered 503 no_healthy_backend outside any database outage (first at ${iso(t.noBackend[0]?.at ?? 0)})`,
    });
  if (t.servedByDestroyed.length > 0) {
    const first = t.servedByDestroyed[0] as ServingTally["servedByDestroyed"][number];
    v.push({
      invariant: "serving",
      detail:
        `${t.servedByDestroyed.length} request(s) answered by a destroyed version: first ${first.version}` +
        `${first.instance ? ` (instance :${first.instance})` : ""} at ${iso(first.at)}, destroyed by ` +
        `${first.destroyed.by} of run ${first.destroyed.run} at ${iso(first.destroyed.at)}`,
    });
  }
  return v;
}

// ─────────────────────────────────────────────────────────────── leaks

export async function checkLeaks(
  r: RunRecord,
  router: TrafficRouter,
  databaseUrl: string,
  instances: number,
  pulumiSettings: PulumiSettings,
  stateDir: string,
): Promise<Violation[]> {
  const v: Violation[] = [];
  const leak = (detail: string) => v.push({ invariant: "leak", detail });
  const blueStack = localStackName({ ...r.scope, version: r.expectedBlue }, stateDir);

  const routes = await router.getRoutes(r.scope);
  if (
    routes.backends.blue?.version !== r.expectedBlue ||
    routes.backends.green ||
    routes.split.blue !== 100
  ) {
    leak(
      `router: blue ${routes.backends.blue?.version ?? "none"} ${routes.split.blue}%, green ${routes.backends.green?.version ?? "none"} ${routes.split.green}% (expected all on ${r.expectedBlue})`,
    );
  }
  const running = instancesByStack(`${r.scope.service}-${r.scope.environment}-`);
  for (const [stack, pids] of running) {
    if (stack !== blueStack)
      leak(
        `process: ${pids.length} instance(s) of ${stack} still running (process groups ${pids.join(", ")})`,
      );
  }
  const blueProcs = running.get(blueStack)?.length ?? 0;
  if (blueProcs !== instances)
    leak(`process: blue ${blueStack} runs ${blueProcs} instance(s), expected ${instances}`);
  for (const [version, ports] of r.portsSeen) {
    if (version === r.expectedBlue) continue;
    for (const port of ports) if (!(await portIsFree(port))) leak(`port: ${port} of ${version} still bound`);
  }
  // Only the shop's: a second service on the database (concurrent-service) keeps its own blue.
  const stacks = pulumiStacks(pulumiSettings).filter((st) =>
    st.startsWith(`${r.scope.service}-${r.scope.environment}-`),
  );
  if (stacks.length !== 1 || stacks[0] !== blueStack)
    leak(`pulumi stacks: [${stacks.join(", ")}], expected [${blueStack}]`);
  const locks = pulumiLocks(pulumiSettings);
  if (locks.length > 0) leak(`pulumi locks: ${locks.join(", ")}`);
  const pending = pendingOperations(pulumiSettings, blueStack);
  if (pending > 0) leak(`pulumi: ${pending} pending operation(s) in ${blueStack}`);
  const pulumi = pulumiProcesses(pulumiSettings);
  if (pulumi.length > 0)
    leak(
      `process: pulumi still running: ${pulumi.map((p) => `${p.pid} ${p.cmdline.slice(0, 60)}`).join("; ")}`,
    );

  const left = await findLeftovers(databaseUrl, r.scope.service);
  if (left.triggers.length) leak(`schema: triggers left: ${left.triggers.join(", ")}`);
  if (left.functions.length) leak(`schema: trigger functions left: ${left.functions.join(", ")}`);
  if (left.unrecordedInternal.length)
    leak(`schema: temporary columns/tables left: ${left.unrecordedInternal.join(", ")}`);
  if (left.invalidIndexes.length) leak(`schema: invalid indexes: ${left.invalidIndexes.join(", ")}`);
  const schema = versionSchemaName({ ...r.scope, migration: r.currentMigration });
  if (left.versionSchemas.length !== 1 || left.versionSchemas[0] !== schema) {
    leak(`schema: version schemas [${left.versionSchemas.join(", ")}], expected [${schema}]`);
  }
  return v;
}

// ─────────────────────────────────────────────────────────────── data

export async function checkData(
  query: (sql: string, params: unknown[]) => Promise<{ rows: Array<Record<string, unknown>> }>,
  orders: ConfirmedOrder[],
  promoted: { columns: string[]; lastIdBeforeRun: number; previousBlue: string } | null,
): Promise<{ violations: Violation[]; byVersion: Record<string, number> }> {
  const byVersion: Record<string, number> = {};
  for (const o of orders) byVersion[o.version] = (byVersion[o.version] ?? 0) + 1;
  const v: Violation[] = [];
  if (orders.length > 0) {
    const rows = await query("SELECT id::int AS id, version FROM orders WHERE id = ANY($1::bigint[])", [
      orders.map((o) => o.id),
    ]);
    const found = new Map(rows.rows.map((r) => [Number(r.id), String(r.version)]));
    const missing = orders.filter((o) => !found.has(o.id));
    if (missing.length > 0) {
      v.push({
        invariant: "data",
        detail: `${missing.length} confirmed order(s) missing: ${missing
          .slice(0, 5)
          .map((o) => `#${o.id} (${o.version})`)
          .join(", ")}`,
      });
    }
    const changed = orders.filter((o) => found.has(o.id) && found.get(o.id) !== o.version);
    if (changed.length > 0)
      v.push({ invariant: "data", detail: `${changed.length} order(s) changed version` });
  }
  // The promoted migrations' `up` must have reached every row the new version
  // did not write itself: rows from before the run (backfill) and rows the
  // previous version wrote during the run (trigger). Rows the new version
  // writes after contract carry no value by design (nullable, no default).
  for (const column of promoted?.columns ?? []) {
    if (!promoted) break;
    const nulls = await query(
      `SELECT count(*)::int AS n FROM orders WHERE "${column}" IS NULL AND (id <= $1 OR version = $2)`,
      [promoted.lastIdBeforeRun, promoted.previousBlue],
    );
    const n = Number(nulls.rows[0]?.n ?? 0);
    if (n > 0) {
      v.push({
        invariant: "data",
        detail: `${n} order(s) of the previous version without ${column} after promotion (backfill/trigger missed them)`,
      });
    }
  }
  return { violations: v, byVersion };
}

// ─────────────────────────────────────────────────────────────── history

const PULUMI_ACTIVITIES = ["provisionGreen", "destroyGreen", "decommissionBlue"];
const SCHEMA_ACTIVITIES = ["expandSchema", "contractSchema", "rollbackSchema"];
/** How a rolled-back run's history may end: failed (since "rolled-back-fails-workflow"), or completed (before). */
const CLOSED_ROLLED_BACK = ["WORKFLOW_EXECUTION_FAILED", "WORKFLOW_EXECUTION_COMPLETED"];
const CLOSED = (e: { type: string }) => CLOSED_ROLLED_BACK.includes(e.type);

export function checkHistory(r: RunRecord): Violation[] {
  const v: Violation[] = [];
  const h = (detail: string) => v.push({ invariant: "history", detail });
  const last = r.events.at(-1);
  // A rolled-back run closes as a failed workflow (DeploymentRolledBack); any other end is a fault.
  const closes = r.result?.outcome === "rolled-back" ? CLOSED_ROLLED_BACK : ["WORKFLOW_EXECUTION_COMPLETED"];
  if (!closes.includes(last?.type ?? "")) h(`history ends with ${last?.type ?? "nothing"}`);
  const s = r.status;
  if (!s) return [...v, { invariant: "history", detail: "the status query did not answer after the run" }];
  if (r.result && s.outcome !== r.result.outcome) h(`status says ${s.outcome}, result ${r.result.outcome}`);
  if (r.result?.outcome === "rolled-back") {
    const open = s.compensations.filter((c) => c.status !== "done" && c.status !== "registered");
    if (open.length) h(`compensations not done: ${open.map((c) => `${c.name}=${c.status}`).join(", ")}`);
    if (!s.outcomeReason) h("status has no reason for the rollback");
  }
  for (const f of r.faults) {
    if (f.kind === "abort" && f.accepted && !s.decisions.some((d) => d.kind === "abort" && d.by === "bob"))
      h("accepted abort missing from the decisions");
    if (
      f.kind === "approve" &&
      f.accepted &&
      !s.decisions.some((d) => d.kind === "approve" && d.by === "alice")
    )
      h("accepted approval missing from the decisions");
    if (f.kind === "worker-kill" && f.injectedAt !== null && recoveredAt(r, f) === null)
      h("no work by a new worker after the worker was killed");
  }
  for (const op of r.operator) {
    if (op.kind === "resume" && !s.decisions.some((d) => d.kind === "resume"))
      h("operator resume missing from the decisions");
  }
  return v;
}

// ─────────────────────────────────────────────────────────────── recovery

/**
 * When the system worked again after a fault (ms since epoch), or null:
 *  - worker-kill: the first task a NEW worker identity completed;
 *  - pulumi-kill: the first completed Pulumi activity after the kill (its retry succeeded);
 *  - temporal-restart: the first history event after the server was back;
 *  - postgres-stop: the first successful user request after the database was back;
 *  - metrics-outage: the first metrics scrape answered after the outage;
 *  - proxy-kill: the first successful user request after the new HAProxy was in place;
 *  - abort: all traffic back on blue (or the rollback finished, if green had none);
 *  - approve: the next traffic step applied after the approval was accepted;
 *  - abort-in-finalize: the deployment closed (promoted) after the refused abort;
 *  - redeploy-serving: the redeploy of the serving version closed (rolled back);
 *  - concurrent-service: the second service's deployment closed;
 *  - multi-migration: the last schema activity (expand, contract or rollback) completed.
 */
export function recoveredAt(
  r: RunRecord,
  f: FaultRecord,
  probes: { firstSuccessAfter?: (at: number) => number | null; scrapes?: number[] } = {},
): number | null {
  if (f.injectedAt === null) return null;
  const at = f.injectedAt;
  const back = f.repairedAt ?? at;
  const after = (t: number, pred: (e: HistoryEvent) => boolean) =>
    r.events.find((e) => e.at >= t && pred(e))?.at ?? null;
  switch (f.kind) {
    case "worker-kill": {
      const before = new Set(r.events.filter((e) => e.at < at && e.identity).map((e) => e.identity));
      return after(at, (e) => e.identity !== null && !before.has(e.identity));
    }
    case "pulumi-kill":
      return after(
        at,
        (e) => e.type === "ACTIVITY_TASK_COMPLETED" && PULUMI_ACTIVITIES.includes(e.activity ?? ""),
      );
    case "temporal-restart":
      return after(back, () => true);
    case "postgres-stop":
    case "proxy-kill":
      return probes.firstSuccessAfter?.(back) ?? null;
    case "metrics-outage":
      return probes.scrapes?.find((t) => t >= back) ?? null;
    case "abort":
      if (!f.accepted) return null;
      return r.trafficRestoredAt ?? after(at, CLOSED);
    case "approve":
      if (!f.accepted) return null;
      return after(back, (e) => e.type === "ACTIVITY_TASK_COMPLETED" && e.activity === "setTrafficWeight");
    case "abort-in-finalize":
      return after(at, CLOSED);
    case "redeploy-serving":
    case "concurrent-service":
      return f.repairedAt;
    case "multi-migration":
      return (
        r.events
          .filter((e) => e.type === "ACTIVITY_TASK_COMPLETED" && SCHEMA_ACTIVITIES.includes(e.activity ?? ""))
          .at(-1)?.at ?? null
      );
  }
}
