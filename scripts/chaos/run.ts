/**
 * One chaos run: deploy the next version while its faults fire and the
 * operator follows it, wait for the outcome, then check every invariant
 * before the next run starts (the next run builds on what this one left).
 */

import fs from "node:fs";
import path from "node:path";
import type { WorkflowHandle } from "@temporalio/client";
import { deploymentResult } from "../../client/deployment-result";
import { startDeployment } from "../../client/start";
import type { DeploymentResult } from "../../lib/deployment/types";
import { randomInt } from "../../lib/random/seeded";
import type { deploymentWorkflow } from "../../workflows";
import { statusQuery } from "../../workflows/deployment/messages";
import { type FaultContext, type FaultRecord, injectFault, RUN_SHAPE_KINDS } from "./faults";
import { fetchEvents, type HistoryEvent } from "./history";
import {
  checkData,
  checkHistory,
  checkLeaks,
  checkLoad,
  checkOutcome,
  checkServing,
  checkWorkerStaysUp,
  type DestroyedVersion,
  databaseOutages,
  destroyedIn,
  type LoadTally,
  type RunRecord,
  recoveredAt,
  tallyLoad,
  tallyServing,
  type Violation,
} from "./invariants";
import { followRun, type RunObservations, superviseWorker } from "./operator";
import type { FaultKind, FaultPlan, RunPlan } from "./plan";
import { checkRedeploy, type Redeploy, redeployServing } from "./redeploy";
import { GATE, migrationsOf, type RunMigration, releaseFor, SCOPE, stageMigrations } from "./release";
import type { CampaignSettings, FaultOutcome, RunSummary } from "./results";
import type { CampaignRig } from "./rig";
import type { SecondService } from "./second-service";
import { probeLogLine } from "./traffic";
import { keepLogPart, keepWorkerLog, workerLogMark } from "./worker-log";

const RUN_TIMEOUT_MS = 6 * 60_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What the runs so far left behind, which the next run builds on. */
export interface CampaignProgress {
  blue: string;
  /** Migrations of promoted runs, in order: staged before every later run's own. */
  completed: RunMigration[];
  currentMigration: string;
  /** Faults that never hit (their deployment ended first): they join the next run. */
  carried: FaultPlan[];
  /** Every version a deployment of the campaign destroyed so far, and when: none may answer afterwards. */
  destroyed: DestroyedVersion[];
}

export interface RunContext {
  settings: CampaignSettings;
  random: () => number;
  progress: CampaignProgress;
  /** How many runs the campaign has now (coverage runs can add some). */
  runCount: number;
  /** The campaign's report folder: each run keeps its worker log in `run-<n>/` there. */
  reportDir: string;
  /** The second service on the campaign's database (concurrent-service). */
  secondService: SecondService;
  /** The shop router's log file: each run keeps its part in `run-<n>/router.log`. */
  routerLog: string;
  stopping(): boolean;
  onUnexpectedWorkerExit(): void;
}

/**
 * Carried faults join the run unless it already has one of their kind (no
 * kind twice in a run); those wait for the run after.
 */
function withCarriedFaults(
  planned: RunPlan,
  carried: FaultPlan[],
): { plan: RunPlan; postponed: FaultPlan[] } {
  const faults = [...planned.faults];
  const postponed: FaultPlan[] = [];
  for (const c of carried) {
    if (faults.some((f) => f.kind === c.kind)) postponed.push(c);
    else faults.push(c);
  }
  const approvalGate = planned.approvalGate || faults.some((f) => f.kind === "approve");
  return { plan: { ...planned, faults, approvalGate }, postponed };
}

function injectFaults(plan: RunPlan, ctx: FaultContext, startedAt: number): Promise<FaultRecord[]> {
  return Promise.all(
    plan.faults
      .filter((f) => !RUN_SHAPE_KINDS.includes(f.kind))
      .map((f) =>
        injectFault(f, ctx, startedAt).catch(
          (err): FaultRecord => ({
            kind: f.kind,
            plannedAfterMs: f.afterMs,
            durationMs: f.durationMs,
            injectedAt: null,
            repairedAt: null,
            accepted: null,
            detail: `harness error: ${err instanceof Error ? err.message : String(err)}`,
          }),
        ),
      ),
  );
}

async function resultOf(
  handle: WorkflowHandle<typeof deploymentWorkflow>,
  deadline: number,
): Promise<DeploymentResult> {
  // result() is a long poll; a Temporal restart breaks it, so ask again until the deadline.
  for (;;) {
    try {
      return await deploymentResult(handle);
    } catch (err) {
      if (Date.now() > deadline) throw err;
      const name = (err as Error).name;
      if (name === "WorkflowFailedError") throw err;
      await sleep(500);
    }
  }
}

async function awaitOutcome(handle: WorkflowHandle<typeof deploymentWorkflow>, startedAt: number) {
  try {
    return { result: await resultOf(handle, startedAt + RUN_TIMEOUT_MS), failure: null };
  } catch (err) {
    return { result: null, failure: String(err) };
  }
}

/** The checks read the history and the final status; a run whose history cannot be read fails. */
async function readHistory(handle: WorkflowHandle<typeof deploymentWorkflow>, seen: RunObservations) {
  let events: HistoryEvent[] = [];
  try {
    events = await fetchEvents(handle);
    seen.status = await handle.query(statusQuery);
    return { events, failure: null };
  } catch (err) {
    return { events, failure: `history/status unreadable: ${String(err)}` };
  }
}

/** The run's migration ended as its deployment did (completed when promoted, else rolled back) and none is active. */
async function migrationViolations(
  rig: CampaignRig,
  migs: RunMigration[],
  record: RunRecord,
  promoted: boolean,
): Promise<Violation[]> {
  const violations: Violation[] = [];
  const engineStatus = await rig.engine.status();
  for (const mig of migs) {
    const phase = engineStatus.migrations.find((m) => m.name === mig.name)?.phase ?? "absent";
    const expectedPhase = promoted ? "completed" : "rolled_back";
    if (record.result && phase !== expectedPhase && !(phase === "absent" && !promoted))
      violations.push({
        invariant: "leak",
        detail: `migration ${mig.name} is ${phase}, expected ${expectedPhase}`,
      });
  }
  if (engineStatus.active)
    violations.push({ invariant: "leak", detail: `migration ${engineStatus.active.name} still active` });
  return violations;
}

interface RunChecks {
  violations: Violation[];
  tally: LoadTally;
  orders: Record<string, number>;
}

async function checkRun(
  rig: CampaignRig,
  record: RunRecord,
  migs: RunMigration[],
  before: { lastId: number; blue: string },
  instances: number,
  destroyed: DestroyedVersion[],
): Promise<RunChecks> {
  const promoted = record.result?.outcome === "promoted";
  const entries = rig.load.between(record.startedAt, Date.now());
  const tally = tallyLoad(record, entries);
  const serving = tallyServing(entries, destroyed, databaseOutages(record));
  const orders = rig.load.orders.filter((o) => o.at >= record.startedAt && o.at <= Date.now());
  const data = await checkData(
    (q, p) => rig.pool.query(q, p),
    orders,
    promoted
      ? {
          columns: migs.flatMap((m) => (m.column ? [m.column] : [])),
          lastIdBeforeRun: before.lastId,
          previousBlue: before.blue,
        }
      : null,
  );
  const violations: Violation[] = [
    ...record.faults
      .filter((f) => f.detail.startsWith("harness error"))
      .map((f) => ({ invariant: "harness" as const, detail: `${f.kind}: ${f.detail}` })),
    ...checkOutcome(record),
    ...checkLoad(tally),
    ...checkServing(serving),
    ...(await checkLeaks(record, rig.traffic, rig.stack.databaseUrl, instances, rig.pulumi, rig.stateDir)),
    ...data.violations,
    ...checkHistory(record),
    ...(await migrationViolations(rig, migs, record, promoted)),
  ];
  return { violations, tally, orders: data.byVersion };
}

function summaryOf(
  record: RunRecord,
  checks: RunChecks,
  faults: FaultOutcome[],
  workerLog: string,
): RunSummary {
  const { plan } = record;
  return {
    run: plan.index,
    version: plan.version,
    health: plan.health,
    approvalGate: plan.approvalGate,
    outcome: record.result?.outcome ?? "did not end",
    reason: record.result?.reason ?? record.failure,
    durationMs: record.endedAt - record.startedAt,
    faults,
    operator: record.operator,
    load: { ...checks.tally, unexplained: checks.tally.unexplained.length },
    orders: checks.orders,
    violations: checks.violations,
    workerLog,
  };
}

function logRun(log: (line: string) => void, summary: RunSummary, checks: RunChecks): void {
  log(
    `  ${summary.violations.length === 0 ? "✓" : "✗"} ${summary.outcome} in ${(summary.durationMs / 1000).toFixed(1)} s${summary.reason ? ` — ${summary.reason.slice(0, 160)}` : ""}`,
  );
  log(
    `    load: ${checks.tally.requests} requests, errors ${JSON.stringify(checks.tally.byWindow)}, ${checks.tally.retriedAfterClose} GET(s) sent again after a closed connection; orders ${JSON.stringify(summary.orders)}`,
  );
  for (const v of summary.violations) log(`    ✗ [${v.invariant}] ${v.detail}`);
}

async function lastOrderId(rig: CampaignRig): Promise<number> {
  const r = await rig.pool.query<{ n: number }>("SELECT coalesce(max(id), 0)::int AS n FROM orders");
  return Number(r.rows[0]?.n ?? 0);
}

function announce(ctx: RunContext, plan: RunPlan): void {
  const faults = plan.faults.map((f) => `${f.kind}@${(f.afterMs / 1000).toFixed(1)}s`).join(", ") || "none";
  ctx.settings.log(
    `\n▶ run ${plan.index}/${ctx.runCount}: ${ctx.progress.blue} → ${plan.version} (${plan.health}${plan.approvalGate ? ", approval gate" : ""}); faults: ${faults}`,
  );
}

/** Deploys the run's version while its faults fire and the operator follows; returns when it closed. */
async function deployUnderFaults(rig: CampaignRig, plan: RunPlan, ctx: RunContext) {
  const input = await releaseFor(rig.releaseDir, plan, rig.metrics.query, ctx.settings.seed);
  const startedAt = Date.now();
  const handle = await startDeployment(rig.client, input, { taskQueue: rig.stack.taskQueue });
  let closed = false;
  const active = new Set<FaultKind>();
  const gate = plan.approvalGate ? GATE : null;
  const faultCtx: FaultContext = {
    stack: rig.stack,
    metrics: rig.metrics,
    handle,
    closed: () => closed,
    gate,
    active,
    pulumi: rig.pulumi,
    router: { name: rig.routerName, stateDir: rig.stateDir, scope: SCOPE, traffic: rig.traffic },
    secondService: ctx.secondService,
    secondDeployments: [],
    log: ctx.settings.log,
  };
  const faultTasks = injectFaults(plan, faultCtx, startedAt);
  const following = followRun({
    rig,
    handle,
    active,
    approvesItself: !plan.faults.some((f) => f.kind === "approve"),
    closed: () => closed,
    stopping: ctx.stopping,
    onUnexpectedWorkerExit: ctx.onUnexpectedWorkerExit,
    log: ctx.settings.log,
  });
  const outcome = await awaitOutcome(handle, startedAt);
  const endedAt = Date.now();
  closed = true;
  const faults = await faultTasks;
  await following.done;
  await sleep(1000); // requests in flight at the end land on the timeline
  return {
    handle,
    outcome,
    startedAt,
    endedAt,
    faults,
    seen: following.observations,
    instances: input.config.run.instances,
    secondDeployments: faultCtx.secondDeployments,
  };
}

/** A multi-migration release "hits" when the run starts; it has settled when the last schema activity completed. */
function multiMigrationRecord(plan: RunPlan, startedAt: number, migs: RunMigration[]): FaultRecord[] {
  const f = plan.faults.find((x) => x.kind === "multi-migration");
  if (!f) return [];
  return [
    {
      kind: "multi-migration",
      plannedAfterMs: f.afterMs,
      durationMs: f.durationMs,
      injectedAt: startedAt,
      repairedAt: null,
      accepted: null,
      detail: `${migs.length} migrations in one release: ${migs.map((m) => m.name).join(", ")}`,
    },
  ];
}

/** Every request of the run as the users saw it, and the router's log of the run: kept for diagnosis. */
function keepProbeLog(rig: CampaignRig, record: RunRecord, runDir: string): void {
  fs.mkdirSync(runDir, { recursive: true });
  const lines = rig.load.between(record.startedAt, Date.now()).map(probeLogLine);
  fs.writeFileSync(
    path.join(runDir, "probe.log"),
    `# at kind status class version backend instance\n${lines.join("\n")}\n`,
  );
}

/**
 * Runs `planned` (with the faults carried to it), checks it, and moves
 * `ctx.progress` on. `ended` is false when the deployment never ended: then
 * nothing sensible is left to build on.
 */
export async function runOnce(
  rig: CampaignRig,
  planned: RunPlan,
  ctx: RunContext,
): Promise<{ summary: RunSummary; ended: boolean }> {
  const progress = ctx.progress;
  const { plan, postponed } = withCarriedFaults(planned, progress.carried);
  progress.carried = postponed;
  const migs = migrationsOf(plan);
  stageMigrations(rig.migrationsDir, [...progress.completed, ...migs]);
  announce(ctx, plan);
  const before = { blue: progress.blue, lastId: await lastOrderId(rig) };
  const workerLogFile = rig.stack.worker?.logFile ?? path.join(rig.stack.stateDir, "worker.log");
  const logFrom = workerLogMark(workerLogFile);
  const routerLogFrom = workerLogMark(ctx.routerLog);
  const runDir = path.join(ctx.reportDir, `run-${plan.index}`);

  const run = await deployUnderFaults(rig, plan, ctx);
  const history = await readHistory(run.handle, run.seen);
  if (run.outcome.result?.outcome === "promoted") {
    progress.blue = plan.version;
    progress.completed.push(...migs);
    progress.currentMigration = (migs.at(-1) as RunMigration).name;
  }
  progress.destroyed.push(
    ...destroyedIn(history.events, { index: plan.index, version: plan.version, previousBlue: before.blue }),
  );
  // After the run's deployment closed: redeploy what serves now, and abort it.
  const redeployPlan = plan.faults.find((f) => f.kind === "redeploy-serving");
  let redeploy: Redeploy | null = null;
  if (redeployPlan && run.outcome.result) {
    stageMigrations(rig.migrationsDir, progress.completed);
    redeploy = await redeployServing(
      rig,
      plan,
      redeployPlan,
      progress.blue,
      ctx.settings.seed,
      ctx.settings.log,
    );
    progress.destroyed.push(
      ...destroyedIn(redeploy.events, {
        index: plan.index,
        version: progress.blue,
        previousBlue: progress.blue,
      }),
    );
  }
  const faultRecords = [
    ...run.faults,
    ...multiMigrationRecord(plan, run.startedAt, migs),
    ...(redeploy ? [redeploy.record] : []),
  ];
  const record: RunRecord = {
    plan,
    scope: SCOPE,
    expectedBlue: progress.blue,
    result: run.outcome.result,
    failure: run.outcome.failure ?? history.failure,
    status: run.seen.status,
    events: history.events,
    faults: faultRecords,
    operator: run.seen.operator,
    startedAt: run.startedAt,
    endedAt: run.endedAt,
    currentMigration: progress.currentMigration,
    portsSeen: run.seen.portsSeen,
    trafficRestoredAt: run.seen.trafficRestoredAt,
  };
  const checks = await checkRun(rig, record, migs, before, run.instances, progress.destroyed);
  if (redeploy) checks.violations.push(...checkRedeploy(redeploy));
  for (const d of run.secondDeployments) checks.violations.push(...(await ctx.secondService.check(d)));
  // A worker that died after the deployment closed (while the checks ran) belongs to this run too.
  await superviseWorker(
    { rig, active: new Set(), onUnexpectedWorkerExit: ctx.onUnexpectedWorkerExit, log: ctx.settings.log },
    run.seen,
  );
  const workerLog = keepWorkerLog(workerLogFile, logFrom, runDir);
  keepLogPart(ctx.routerLog, routerLogFrom, path.join(runDir, "router.log"));
  keepProbeLog(rig, record, runDir);
  checks.violations.push(...checkWorkerStaysUp(run.seen.workerExits, run.startedAt, workerLog));

  const probes = { firstSuccessAfter: rig.load.firstSuccessAfter, scrapes: rig.metrics.answeredAt };
  for (const ports of run.seen.portsSeen.values()) for (const port of ports) rig.infraPorts.push(port);
  const faults = faultRecords.map((f) => ({
    ...f,
    run: plan.index,
    recoveredAt: recoveredAt(record, f, probes),
  }));
  for (const f of faultRecords) {
    if (f.injectedAt === null)
      progress.carried.push({
        kind: f.kind,
        afterMs: randomInt(ctx.random, 500, 8000),
        durationMs: f.durationMs,
      });
  }
  const summary = summaryOf(record, checks, faults, workerLog);
  logRun(ctx.settings.log, summary, checks);
  return { summary, ended: run.outcome.result !== null };
}
