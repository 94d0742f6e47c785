import { describe, expect, it } from "vitest";
import type { FaultRecord } from "../../../../scripts/chaos/faults";
import type { HistoryEvent } from "../../../../scripts/chaos/history";
import {
  checkHistory,
  checkLoad,
  checkOutcome,
  checkServing,
  checkWorkerStaysUp,
  DB_RECOVERY_GRACE_MS,
  DESTROYED_ANSWER_GRACE_MS,
  databaseOutages,
  destroyedIn,
  PROXY_RESTART_GRACE_MS,
  type RunRecord,
  recoveredAt,
  tallyLoad,
  tallyServing,
} from "../../../../scripts/chaos/invariants";
import type { RunPlan } from "../../../../scripts/chaos/plan";
import { checkRedeploy } from "../../../../scripts/chaos/redeploy";
import { classify, type TimelineEntry } from "../../../../scripts/chaos/traffic";

const plan = (over: Partial<RunPlan> = {}): RunPlan => ({
  index: 1,
  version: "c1",
  health: "healthy",
  approvalGate: false,
  faults: [],
  ...over,
});

const fault = (over: Partial<FaultRecord>): FaultRecord => ({
  kind: "worker-kill",
  plannedAfterMs: 0,
  durationMs: 0,
  injectedAt: 1000,
  repairedAt: 2000,
  accepted: null,
  detail: "",
  ...over,
});

const ev = (id: number, at: number, type: string, extra: Partial<HistoryEvent> = {}): HistoryEvent => ({
  id,
  at,
  type,
  identity: null,
  activity: null,
  attempt: null,
  failure: null,
  ...extra,
});

function record(over: Partial<RunRecord> = {}): RunRecord {
  return {
    plan: plan(),
    scope: { service: "shop", environment: "chaos" },
    expectedBlue: "c1",
    result: { deploymentId: "d", outcome: "promoted", reason: null, compensations: [], decisions: [] },
    failure: null,
    status: null,
    events: [],
    faults: [],
    operator: [],
    startedAt: 0,
    endedAt: 60_000,
    currentMigration: "0002_chaos_c1",
    portsSeen: new Map(),
    trafficRestoredAt: null,
    ...over,
  };
}

const err = (
  at: number,
  errorClass: TimelineEntry["errorClass"],
  version: string | null = null,
): TimelineEntry => ({
  at,
  ok: false,
  errorClass,
  version,
});
const ok = (at: number): TimelineEntry => ({ at, ok: true, errorClass: null, version: "c0" });

describe("classify", () => {
  const base = { at: 0, kind: "browse", version: null, backend: null, body: null };
  it("blames the router for dead and missing backends, the app for its own 5xx", () => {
    expect(classify({ ...base, status: "network" })).toBe("dead-backend");
    expect(classify({ ...base, status: 502, body: { error: "backend_unreachable" } })).toBe("dead-backend");
    // No instance accepted the connection: the router's own 503, not the shop's.
    expect(classify({ ...base, status: 503, body: { error: "backend_unreachable" } })).toBe("dead-backend");
    expect(classify({ ...base, status: 503, version: "c1", body: { status: "unhealthy" } })).toBe("app");
    expect(classify({ ...base, status: 503, body: { error: "no_healthy_backend" } })).toBe("no-backend");
    expect(classify({ ...base, status: 500, version: "c1" })).toBe("app");
    expect(classify({ ...base, status: 200, version: "c1" })).toBeNull();
    expect(classify({ ...base, status: 404, version: "c1" })).toBeNull();
  });
});

describe("load tolerance", () => {
  it("explains errors inside a database outage (+grace) and a bad canary until traffic is back; nothing else", () => {
    const r = record({
      plan: plan({ health: "bad" }),
      faults: [fault({ kind: "postgres-stop", injectedAt: 10_000, repairedAt: 13_000 })],
      trafficRestoredAt: 30_000,
    });
    const t = tallyLoad(r, [
      ok(1),
      err(11_000, "app", "c0"), // database down
      err(13_000 + DB_RECOVERY_GRACE_MS - 1, "no-backend"), // still in grace
      err(25_000, "app", "c1"), // the bad canary
      err(31_000, "app", "c1"), // in flight when traffic moved back
      err(40_000, "app", "c1"), // bad version answering long after the rollback: not explained
      err(41_000, "dead-backend"), // a dead backend: never explained
    ]);
    expect(t.byWindow).toEqual({ "postgres-stop": 2, "bad-version": 2, none: 2 });
    expect(t.unexplained.map((u) => u.at)).toEqual([40_000, 41_000]);
    expect(checkLoad(t)[0]?.detail).toMatch(/2 failed request\(s\).*1× app \(c1\), 1× dead-backend/);
  });

  it("explains failed connections while the router's HAProxy was killed and not back (+grace), not app errors", () => {
    const r = record({ faults: [fault({ kind: "proxy-kill", injectedAt: 10_000, repairedAt: 10_400 })] });
    const t = tallyLoad(r, [
      err(10_050, "dead-backend"), // connection refused: no proxy
      err(10_400 + PROXY_RESTART_GRACE_MS - 1, "dead-backend"), // in flight on the killed one
      err(10_200, "app", "c1"), // a healthy version's own 5xx is not the proxy's
      err(10_400 + PROXY_RESTART_GRACE_MS + 1, "dead-backend"), // after the grace: unexplained
    ]);
    expect(t.byWindow).toEqual({ "proxy-kill": 3, none: 1 });
    expect(t.unexplained.map((u) => u.at)).toEqual([10_200, 10_400 + PROXY_RESTART_GRACE_MS + 1]);
    const probes = { firstSuccessAfter: (at: number) => at + 5 };
    expect(recoveredAt(r, r.faults[0]!, probes)).toBe(10_405);
  });

  it("counts a healthy version's 5xx outside any outage as a violation", () => {
    const t = tallyLoad(record(), [err(5000, "app", "c1")]);
    expect(checkLoad(t)).toHaveLength(1);
    expect(checkLoad(tallyLoad(record(), [ok(1), ok(2)]))).toEqual([]);
  });
});

describe("outcome", () => {
  const result = (outcome: "promoted" | "rolled-back" | "needs-attention", reason: string | null = "x") => ({
    deploymentId: "d",
    outcome,
    reason,
    compensations: [],
    decisions: [],
  });
  it("a bad version is never promoted", () => {
    expect(
      checkOutcome(record({ plan: plan({ health: "bad" }), result: result("promoted") }))[0]?.detail,
    ).toMatch(/PROMOTED/);
  });
  it("an accepted abort ends rolled back", () => {
    const faults = [fault({ kind: "abort", accepted: true })];
    expect(checkOutcome(record({ faults, result: result("promoted") }))).toHaveLength(1);
    expect(checkOutcome(record({ faults, result: result("rolled-back") }))).toEqual([]);
  });
  it("a healthy rollback needs a fault to explain it, and needs-attention is never acceptable here", () => {
    expect(checkOutcome(record({ result: result("rolled-back") }))[0]?.detail).toMatch(/no fault to explain/);
    expect(checkOutcome(record({ faults: [fault({})], result: result("rolled-back") }))).toEqual([]);
    expect(checkOutcome(record({ faults: [fault({})], result: result("needs-attention") }))).toHaveLength(1);
    expect(checkOutcome(record({ result: null, failure: "timeout" }))[0]?.detail).toMatch(/did not end/);
  });
});

describe("recovery and history", () => {
  const events = [
    ev(1, 100, "WORKFLOW_TASK_COMPLETED", { identity: "w-1" }),
    ev(2, 900, "ACTIVITY_TASK_STARTED", { identity: "w-1", activity: "provisionGreen" }),
    ev(3, 5000, "ACTIVITY_TASK_STARTED", { identity: "w-2", activity: "provisionGreen", attempt: 2 }),
    ev(4, 6000, "ACTIVITY_TASK_COMPLETED", { activity: "provisionGreen" }),
    ev(5, 7000, "WORKFLOW_EXECUTION_COMPLETED"),
  ];
  it("a worker kill recovers when a NEW worker does work; a pulumi kill when its activity completes", () => {
    const r = record({ events });
    expect(recoveredAt(r, fault({ kind: "worker-kill", injectedAt: 1000 }))).toBe(5000);
    expect(recoveredAt(r, fault({ kind: "pulumi-kill", injectedAt: 1000 }))).toBe(6000);
    expect(recoveredAt(r, fault({ kind: "worker-kill", injectedAt: null }))).toBeNull();
  });
  it("flags a killed worker that no new worker replaced, and a history that did not complete", () => {
    const status = { outcome: "promoted", decisions: [], compensations: [], outcomeReason: null } as never;
    const noNewWorker = record({
      status,
      events: events.filter((e) => e.identity !== "w-2"),
      faults: [fault({ kind: "worker-kill" })],
    });
    expect(checkHistory(noNewWorker).map((v) => v.detail)).toEqual([
      "no work by a new worker after the worker was killed",
    ]);
    expect(checkHistory(record({ status, events: events.slice(0, 4) }))[0]?.detail).toMatch(
      /ends with ACTIVITY/,
    );
  });
});

describe("worker-stays-up", () => {
  it("every exit of the worker on its own is a violation that names the run's worker log", () => {
    const v = checkWorkerStaysUp(
      [
        { pid: 41, code: 1, signal: null, at: 12_500 },
        { pid: 42, code: null, signal: "SIGSEGV", at: 20_000 },
      ],
      10_000,
      "/reports/run-3/worker.log",
    );
    expect(v.map((x) => x.invariant)).toEqual(["worker-stays-up", "worker-stays-up"]);
    expect(v[0]?.detail).toBe(
      "worker 41 exited on its own (code 1) 2.5 s into the run; its log: /reports/run-3/worker.log",
    );
    expect(v[1]?.detail).toMatch(/worker 42 exited on its own \(signal SIGSEGV\) 10\.0 s/);
  });

  it("a run whose worker stayed up has none", () => {
    expect(checkWorkerStaysUp([], 0, "/reports/run-1/worker.log")).toEqual([]);
  });
});

describe("serving: no 503 for lack of a backend, no answer from a destroyed version", () => {
  const answered = (at: number, version: string, instance = "4101"): TimelineEntry => ({
    at,
    ok: true,
    errorClass: null,
    version,
    instance,
  });
  const events = [
    ev(1, 1000, "ACTIVITY_TASK_COMPLETED", { activity: "provisionGreen" }),
    ev(2, 20_000, "ACTIVITY_TASK_COMPLETED", { activity: "finalizeRoutes" }),
    ev(3, 25_000, "ACTIVITY_TASK_COMPLETED", { activity: "decommissionBlue" }),
    ev(4, 26_000, "ACTIVITY_TASK_FAILED", { activity: "destroyGreen" }),
  ];

  it("reads the destroyed versions from the history: the previous blue on decommission, green on destroyGreen", () => {
    expect(destroyedIn(events, { index: 4, version: "c4", previousBlue: "c2" })).toEqual([
      { version: "c2", at: 25_000, by: "decommissionBlue", run: 4 },
    ]);
    const rolledBack = [ev(9, 30_000, "ACTIVITY_TASK_COMPLETED", { activity: "destroyGreen" })];
    expect(destroyedIn(rolledBack, { index: 5, version: "c5", previousBlue: "c4" })).toEqual([
      { version: "c5", at: 30_000, by: "destroyGreen", run: 5 },
    ]);
  });

  it("counts every answer a destroyed version gave after its destroy (+grace), in this run or a later one", () => {
    const destroyed = destroyedIn(events, { index: 4, version: "c4", previousBlue: "c2" });
    const t = tallyServing(
      [
        answered(24_000, "c2"), // before the decommission
        answered(25_000 + DESTROYED_ANSWER_GRACE_MS, "c2"), // sent before the stop, stamped late
        answered(27_000, "c4"), // the new blue
        answered(90_000, "c2", "4102"), // a destroyed version answering a run later
      ],
      destroyed,
      [],
    );
    expect(t.servedByDestroyed.map((x) => x.at)).toEqual([90_000]);
    const [v] = checkServing(t);
    expect(v?.invariant).toBe("serving");
    expect(v?.detail).toMatch(
      /1 request\(s\) answered by a destroyed version: first c2 \(instance :4102\).*decommissionBlue of run 4/,
    );
    expect(checkServing(tallyServing([answered(90_000, "c4")], destroyed, []))).toEqual([]);
  });

  it("a 503 for lack of a backend is a violation except while the database is down (+grace), proxy restart or not", () => {
    const r = record({
      faults: [
        fault({ kind: "postgres-stop", injectedAt: 10_000, repairedAt: 12_000 }),
        fault({ kind: "proxy-kill", injectedAt: 40_000, repairedAt: 40_300 }),
      ],
    });
    const noBackend = (at: number) => err(at, "no-backend");
    const entries = [
      noBackend(11_000),
      noBackend(12_000 + DB_RECOVERY_GRACE_MS),
      noBackend(40_100), // a new HAProxy must come back with its healthy servers up
      noBackend(12_000 + DB_RECOVERY_GRACE_MS + 1),
    ];
    const t = tallyServing(entries, [], databaseOutages(r));
    expect(t.noBackend.map((x) => x.at)).toEqual([40_100, 12_000 + DB_RECOVERY_GRACE_MS + 1]);
    expect(checkServing(t)[0]?.detail).toMatch(/^2 request\(s\) answered 503 no_healthy_backend outside/);
    // The load invariant leaves them to this one (counted, not double-reported).
    const load = tallyLoad(r, entries);
    expect(load.byClass["no-backend"]).toBe(4);
    expect(load.unexplained).toEqual([]);
  });

  it("an abort while finalizing is refused and the deployment still promotes", () => {
    const late = (accepted: boolean) => fault({ kind: "abort-in-finalize", accepted, detail: "x" });
    const result = (outcome: "promoted" | "rolled-back") => ({
      deploymentId: "d",
      outcome,
      reason: "r",
      compensations: [],
      decisions: [],
    });
    expect(checkOutcome(record({ faults: [late(false)], result: result("promoted") }))).toEqual([]);
    expect(checkOutcome(record({ faults: [late(true)], result: result("promoted") }))[0]?.detail).toMatch(
      /abort accepted while finalizing/,
    );
    expect(checkOutcome(record({ faults: [late(false)], result: result("rolled-back") }))[0]?.detail).toMatch(
      /refused while finalizing, yet the outcome is rolled-back/,
    );
  });

  it("a redeploy of the serving version must roll back without touching it", () => {
    const rolledBack = {
      deploymentId: "d",
      outcome: "rolled-back" as const,
      reason: "already serving",
      compensations: [],
      decisions: [],
    };
    const preflightOnly = [ev(1, 1, "ACTIVITY_TASK_SCHEDULED", { activity: "preflightDeployment" })];
    expect(checkRedeploy({ version: "c3", result: rolledBack, events: preflightOnly })).toEqual([]);
    const touched = [...preflightOnly, ev(2, 2, "ACTIVITY_TASK_SCHEDULED", { activity: "provisionGreen" })];
    expect(
      checkRedeploy({ version: "c3", result: rolledBack, events: touched }).map((v) => v.detail),
    ).toEqual(["redeploy of the serving version c3 ran provisionGreen on what users are on"]);
    expect(
      checkRedeploy({
        version: "c3",
        result: { ...rolledBack, outcome: "promoted" },
        events: preflightOnly,
      })[0]?.detail,
    ).toMatch(/ended promoted, expected rolled-back/);
  });
});
