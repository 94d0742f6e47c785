/**
 * The faults of a chaos run, injected against the real processes of the
 * embedded stack: SIGKILL the worker (and start a new one), SIGKILL the
 * `pulumi` CLI mid-operation, restart the Temporal dev server, stop
 * PostgreSQL, make a metrics provider fail, SIGKILL the router's HAProxy,
 * and the two operator messages that arrive at random moments (abort, approve). Each returns a record of
 * what was actually done and when; a fault whose moment comes after the
 * deployment ended is recorded as not reached (and carried to the next run).
 */
import { isDeepStrictEqual } from "node:util";
import { type WorkflowHandle, WorkflowUpdateFailedError } from "@temporalio/client";
import type { LocalStack } from "../../dev/stack/local-stack";
import { routerHaproxyPid } from "../../infra/local/router-process";
import type { PulumiSettings } from "../../infra/pulumi/settings";
import type { AppliedRoutes, TrafficRouter } from "../../lib/drivers/traffic-router";
import { signalGroup } from "../../lib/runtime/process-group";
import type { deploymentWorkflow } from "../../workflows";
import { abortUpdate, approveUpdate, statusQuery } from "../../workflows/deployment/messages";
import type { MetricsEndpoint } from "./metrics-endpoint";
import type { FaultKind, FaultPlan } from "./plan";
import type { SecondService, SecondServiceDeployment } from "./second-service";
import { pulumiCliProcesses } from "./system";

export interface FaultRecord {
  kind: FaultKind;
  plannedAfterMs: number;
  durationMs: number;
  /** When the fault hit (null: the deployment ended before its moment came). */
  injectedAt: number | null;
  /** When what the fault broke was back (worker polling, server or database up, metrics answering). */
  repairedAt: number | null;
  /** abort / approve: the workflow accepted the update (false: refused, with the reason in detail). */
  accepted: boolean | null;
  detail: string;
}

export interface FaultContext {
  stack: LocalStack;
  metrics: MetricsEndpoint;
  handle: WorkflowHandle<typeof deploymentWorkflow>;
  /** The deployment has closed (nothing left to hit). */
  closed(): boolean;
  /** Name of the run's approval gate, if it has one. */
  gate: string | null;
  /** Faults in progress: the operator does not resume a paused deployment while one is. */
  active: Set<FaultKind>;
  /** The worker's Pulumi backend: its `pulumi` processes are the pulumi-kill fault's targets. */
  pulumi: PulumiSettings;
  /** The scope's local router (proxy-kill): its name and its TrafficRouter. */
  router: {
    name: string;
    stateDir: string;
    scope: { service: string; environment: string };
    traffic: TrafficRouter;
  };
  /** The second service on the database (concurrent-service), and its deployments of this run. */
  secondService: SecondService;
  secondDeployments: SecondServiceDeployment[];
  log(line: string): void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function untilOrClosed(ctx: FaultContext, at: number): Promise<boolean> {
  while (Date.now() < at) {
    if (ctx.closed()) return false;
    await sleep(Math.min(100, at - Date.now()));
  }
  return !ctx.closed();
}

/**
 * An update as an operator sends it: retried while the server is unreachable
 * (a restart in progress), answered with the workflow's own refusal otherwise.
 */
async function sendUpdate(
  ctx: FaultContext,
  send: () => Promise<{ message: string }>,
): Promise<{ accepted: boolean; message: string }> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    try {
      return { accepted: true, message: (await send()).message };
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) {
        return { accepted: false, message: String((err.cause as Error | undefined)?.message ?? err.message) };
      }
      if (ctx.closed() || Date.now() > deadline) return { accepted: false, message: String(err) };
      await sleep(500);
    }
  }
}

/** How an injector reports: the moment its fault hits, and when what it broke is back. */
interface Hit {
  record: FaultRecord;
  /** The fault hits now; it is in progress until repaired. */
  mark(): void;
  repaired(detail: string): void;
  /** Seconds since the fault hit, for the repair message. */
  secondsSince(): string;
}

type Injector = (plan: FaultPlan, ctx: FaultContext, hit: Hit) => Promise<void>;

async function killWorker(plan: FaultPlan, ctx: FaultContext, hit: Hit): Promise<void> {
  const w = ctx.stack.worker;
  if (!w) throw new Error("chaos: no worker to kill");
  hit.mark();
  signalGroup(w.pid, "SIGKILL");
  await w.exited;
  await sleep(plan.durationMs);
  const nw = await ctx.stack.startWorker();
  hit.repaired(`worker ${w.pid} SIGKILLed; worker ${nw.pid} polling ${hit.secondsSince()} s later`);
}

/** The first pulumi CLI seen from this moment on, killed once it has run durationMs. */
async function killPulumi(plan: FaultPlan, ctx: FaultContext, hit: Hit): Promise<void> {
  while (!ctx.closed()) {
    const [p] = pulumiCliProcesses(ctx.pulumi);
    if (p) {
      await sleep(plan.durationMs);
      if (!pulumiCliProcesses(ctx.pulumi).some((q) => q.pid === p.pid)) continue; // finished first: take the next
      hit.mark();
      // The CLI only (it runs in the worker's process group): its plugins must be cleaned up by Shipshape.
      try {
        process.kill(p.pid, "SIGKILL");
      } catch {
        // already gone
      }
      hit.repaired(`SIGKILLed \`${p.cmdline.replace(/^\S*\//, "").slice(0, 80)}\` (pid ${p.pid})`);
      return;
    }
    await sleep(50);
  }
  hit.record.detail = "not reached: no pulumi process ran before the deployment ended";
}

async function restartTemporal(plan: FaultPlan, ctx: FaultContext, hit: Hit): Promise<void> {
  hit.mark();
  await ctx.stack.temporal.restart(plan.durationMs);
  hit.repaired(`Temporal dev server restarted (same SQLite file), answering after ${hit.secondsSince()} s`);
}

async function stopPostgres(plan: FaultPlan, ctx: FaultContext, hit: Hit): Promise<void> {
  hit.mark();
  ctx.stack.postgres.stop();
  await sleep(plan.durationMs);
  await ctx.stack.postgres.start();
  hit.repaired(`PostgreSQL stopped for ${hit.secondsSince()} s`);
}

async function failMetrics(plan: FaultPlan, ctx: FaultContext, hit: Hit): Promise<void> {
  hit.mark();
  ctx.metrics.failing = true;
  await sleep(plan.durationMs);
  ctx.metrics.failing = false;
  hit.repaired(`http-json metrics answered 503 for ${(plan.durationMs / 1000).toFixed(1)} s`);
}

const describeRoutes = (r: AppliedRoutes) =>
  `table v${r.tableVersion} ${r.split.blue}/${r.split.green}, ` +
  (["blue", "green"] as const)
    .map((n) => {
      const b = r.backends[n];
      return b ? `${n} ${b.version}×${b.instances.length}` : `no ${n}`;
    })
    .join(", ");

/**
 * SIGKILLs the HAProxy of the scope's router (its control process lives on and
 * starts a new one from the persisted table), then checks the data plane came
 * back with the same backends and split: read back from HAProxy itself
 * (waitApplied), compared with what it served before the kill unless the
 * deployment changed the table meanwhile. A difference is a harness error.
 */
async function killProxy(_plan: FaultPlan, ctx: FaultContext, hit: Hit): Promise<void> {
  const router = ctx.router;
  const pid = routerHaproxyPid(router.name, router.stateDir);
  if (!pid) throw new Error(`chaos: router ${router.name} has no HAProxy running`);
  const before = await router.traffic.getRoutes(router.scope);
  hit.mark();
  try {
    process.kill(pid, "SIGKILL");
    const deadline = Date.now() + 60_000;
    let next = routerHaproxyPid(router.name, router.stateDir);
    while (next === undefined || next === pid) {
      if (Date.now() > deadline) throw new Error(`no new HAProxy within 60 s after killing ${pid}`);
      await sleep(20);
      next = routerHaproxyPid(router.name, router.stateDir);
    }
    const after = await router.traffic.waitApplied(router.scope, before.tableVersion, 30_000);
    if (after.tableVersion === before.tableVersion && !isDeepStrictEqual(after, before)) {
      throw new Error(
        `after the restart HAProxy serves ${describeRoutes(after)}, before: ${describeRoutes(before)}`,
      );
    }
    const same =
      after.tableVersion === before.tableVersion
        ? "as before"
        : `(the deployment moved on from v${before.tableVersion} meanwhile)`;
    hit.repaired(
      `HAProxy ${pid} SIGKILLed; HAProxy ${next} applies ${describeRoutes(after)} ${same}, ${hit.secondsSince()} s later`,
    );
  } finally {
    // A failed check is a harness error; the operator must not wait on it forever.
    ctx.active.delete("proxy-kill");
  }
}

async function abortDeployment(_plan: FaultPlan, ctx: FaultContext, hit: Hit): Promise<void> {
  hit.mark();
  const r = await sendUpdate(ctx, () =>
    ctx.handle.executeUpdate(abortUpdate, {
      args: [{ by: "bob", reason: "chaos: abort at a random moment" }],
    }),
  );
  hit.record.accepted = r.accepted;
  hit.repaired(`${r.accepted ? "accepted" : "refused"}: ${r.message}`);
}

/**
 * A second service starts deploying on the same database now, while the
 * shop's deployment runs; the fault lasts until that deployment closed
 * (its own invariants are checked after the run: second-service.ts).
 */
async function deploySecondService(_plan: FaultPlan, ctx: FaultContext, hit: Hit): Promise<void> {
  hit.mark();
  const d = await ctx.secondService.deploy();
  ctx.secondDeployments.push(d);
  hit.repaired(
    `ledger ${d.version} deployed on the same database alongside: ${d.result?.outcome ?? `did not end (${d.failure})`} in ${hit.secondsSince()} s${d.result?.reason ? ` — ${d.result.reason.slice(0, 120)}` : ""}`,
  );
}

/**
 * An abort that arrives once the deployment is finalizing (the point of no
 * return: routes final, blue being decommissioned, schema contracted): the
 * status is watched from the start of the run, the abort sent the moment it
 * says `finalizing`. It must be refused, and the deployment must still
 * promote (checkOutcome). A run that ends without finalizing (rolled back)
 * never reaches it; the fault is carried to the next run.
 */
async function abortWhileFinalizing(_plan: FaultPlan, ctx: FaultContext, hit: Hit): Promise<void> {
  while (!ctx.closed()) {
    const phase = await ctx.handle.query(statusQuery).then(
      (st) => st.phase,
      () => null, // no worker or no server right now
    );
    if (phase === "finalizing") {
      hit.mark();
      const r = await sendUpdate(ctx, () =>
        ctx.handle.executeUpdate(abortUpdate, {
          args: [{ by: "bob", reason: "chaos: abort while finalizing" }],
        }),
      );
      hit.record.accepted = r.accepted;
      hit.repaired(`${r.accepted ? "ACCEPTED" : "refused"} while finalizing: ${r.message}`);
      return;
    }
    await sleep(50);
  }
  hit.record.detail = "not reached: the deployment ended without finalizing";
}

/**
 * Sent now, whatever the deployment is doing; refused while the gate is not
 * pending yet, so the approver tries again, like a person would.
 */
async function approveGate(_plan: FaultPlan, ctx: FaultContext, hit: Hit): Promise<void> {
  const gate = ctx.gate;
  if (!gate) throw new Error("chaos: an approve fault needs a run with an approval gate");
  hit.mark();
  let refusals = 0;
  let last = "";
  while (!ctx.closed()) {
    const r = await sendUpdate(ctx, () =>
      ctx.handle.executeUpdate(approveUpdate, {
        args: [{ gate, by: "alice", reason: "chaos: approve" }],
      }),
    );
    if (r.accepted) {
      hit.record.accepted = true;
      hit.repaired(`accepted after ${refusals} refusal(s)${last ? ` (first: ${last})` : ""}`);
      return;
    }
    if (!last) last = r.message;
    refusals++;
    await sleep(500);
  }
  hit.record.accepted = false;
  hit.repaired(`never accepted (${refusals} refusals, first: ${last})`);
}

const INJECTORS: Record<FaultKind, Injector> = {
  "worker-kill": killWorker,
  "pulumi-kill": killPulumi,
  "temporal-restart": restartTemporal,
  "postgres-stop": stopPostgres,
  "metrics-outage": failMetrics,
  "proxy-kill": killProxy,
  abort: abortDeployment,
  approve: approveGate,
  "abort-in-finalize": abortWhileFinalizing,
  // Not injected at a moment of the run: run.ts shapes the run with them (scripts/chaos/run-shapes.ts).
  "redeploy-serving": notAMomentFault,
  "concurrent-service": deploySecondService,
  "multi-migration": notAMomentFault,
};

/** Kinds that watch the deployment from its start instead of waiting for their planned moment. */
const WATCH_FROM_START: readonly FaultKind[] = ["abort-in-finalize"];
/** Kinds that shape the run (run.ts) rather than hit it at a moment (injectFault never gets them). */
export const RUN_SHAPE_KINDS: readonly FaultKind[] = ["redeploy-serving", "multi-migration"];

async function notAMomentFault(plan: FaultPlan): Promise<void> {
  throw new Error(`chaos: ${plan.kind} is not injected at a moment of the run`);
}

/** Waits for the fault's moment (none if the deployment ends first), then injects it. */
export async function injectFault(
  plan: FaultPlan,
  ctx: FaultContext,
  startedAt: number,
): Promise<FaultRecord> {
  const record: FaultRecord = {
    kind: plan.kind,
    plannedAfterMs: plan.afterMs,
    durationMs: plan.durationMs,
    injectedAt: null,
    repairedAt: null,
    accepted: null,
    detail: "not reached: the deployment ended first",
  };
  const moment = WATCH_FROM_START.includes(plan.kind) ? startedAt : startedAt + plan.afterMs;
  if (!(await untilOrClosed(ctx, moment))) return record;
  await INJECTORS[plan.kind](plan, ctx, {
    record,
    mark() {
      record.injectedAt = Date.now();
      ctx.active.add(plan.kind);
    },
    repaired(detail) {
      record.repairedAt = Date.now();
      record.detail = detail;
      ctx.active.delete(plan.kind);
      ctx.log(`  ⚡ ${plan.kind}: ${detail}`);
    },
    secondsSince: () => ((Date.now() - (record.injectedAt ?? 0)) / 1000).toFixed(1),
  });
  return record;
}
