/**
 * One chaos campaign on the embedded stack: a private Temporal dev server
 * (persistent SQLite, so it can be restarted), PostgreSQL, the shop's router
 * and a worker with the real local drivers; the shop under load through the
 * router for the whole campaign. Each planned run deploys the next version
 * while its faults fire, then every invariant is checked before the next run
 * starts (the next run builds on what the previous one left).
 */
import fs from "node:fs";
import path from "node:path";
import { Client, Connection, type WorkflowHandle } from "@temporalio/client";
import { Pool } from "pg";
import YAML from "yaml";
import { startDeployment } from "../../client/start";
import { startLocalStack } from "../../dev/stack/local-stack";
import { startShopAsBlue } from "../../dev/stack/shop-blue";
import { localInfraDriver } from "../../infra/local/driver";
import { ensureRouterProcess, routerNameFor, stopRouterProcess } from "../../infra/local/router-process";
import { createLocalTrafficRouter } from "../../infra/local/traffic-router";
import { configDigest } from "../../lib/config/digest";
import { ReleaseConfigSchema } from "../../lib/config/schema";
import type { DeploymentResult } from "../../lib/deployment/types";
import { createMigrationEngine } from "../../lib/migrations/engine";
import { loadMigrationsDir } from "../../lib/migrations/file-format";
import { randomInt, seededRandom } from "../../lib/random/seeded";
import { freePort, portIsFree } from "../../lib/runtime/free-port";
import { PROJECT_ROOT, stateDir } from "../../lib/runtime/paths";
import type { deploymentWorkflow } from "../../workflows";
import { approveUpdate, resumeUpdate, statusQuery } from "../../workflows/deployment/messages";
import type { DeploymentStatus } from "../../workflows/deployment/state";
import { type FaultContext, type FaultRecord, injectFault } from "./faults";
import { fetchEvents } from "./history";
import {
  checkData,
  checkHistory,
  checkLeaks,
  checkLoad,
  checkOutcome,
  type LoadTally,
  type OperatorAction,
  type RunRecord,
  recoveredAt,
  tallyLoad,
  type Violation,
} from "./invariants";
import { startMetricsEndpoint } from "./metrics-endpoint";
import {
  type CampaignOptions,
  DEFAULT_CAMPAIGN,
  FAULT_KINDS,
  type FaultKind,
  type FaultPlan,
  planCampaign,
  type RunPlan,
} from "./plan";
import { instancesByStack, pulumiProcesses, pulumiStacks, reapScopeProcesses } from "./system";
import { startTraffic } from "./traffic";

export const SCOPE = { service: "shop", environment: "chaos" } as const;
const CONFIG_FILE = path.join(PROJECT_ROOT, "examples", "shop", "shipshape.chaos.yaml");
const INITIAL_MIGRATION = path.join(PROJECT_ROOT, "examples", "shop", "migrations", "0001_initial.yaml");
const GATE = "before-full-traffic";
/** A bad version answers this share of requests with 500s. */
export const BAD_ERROR_RATE = 0.3;
const RUN_TIMEOUT_MS = 6 * 60_000;

export interface CampaignSettings {
  seed: number;
  runs: number;
  faultsPerRun?: number;
  rps: number;
  concurrency: number;
  log: (line: string) => void;
  keepState?: boolean;
  /**
   * After the planned runs, add up to 3 healthy runs that inject, early, every
   * fault kind the campaign has not managed to inject yet (a fault planned
   * after its deployment ended is carried over, but the last run's cannot be).
   */
  coverEveryFault?: boolean;
  /** Fault kinds added to every run (`--force-fault`). */
  force?: FaultKind[];
}

export interface FaultOutcome extends FaultRecord {
  run: number;
  recoveredAt: number | null;
}

export interface RunSummary {
  run: number;
  version: string;
  health: RunPlan["health"];
  approvalGate: boolean;
  outcome: string;
  reason: string | null;
  durationMs: number;
  faults: FaultOutcome[];
  operator: OperatorAction[];
  load: Omit<LoadTally, "unexplained"> & { unexplained: number };
  orders: Record<string, number>;
  violations: Violation[];
}

export interface CampaignResult {
  seed: number;
  plannedRuns: number;
  runs: RunSummary[];
  finalViolations: Violation[];
  unexpectedWorkerExits: number;
  stateDir: string;
  durationMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface RawConfig {
  run: { env: Record<string, string> };
  release: {
    steps: unknown[];
    analysis: { metrics: Array<{ name: string; query: string }> };
  };
}

function releaseFor(plan: RunPlan, metricsQuery: string) {
  const raw = YAML.parse(fs.readFileSync(CONFIG_FILE, "utf8")) as RawConfig;
  if (plan.health === "bad") raw.run.env.SHOP_ERROR_RATE = String(BAD_ERROR_RATE);
  if (plan.approvalGate) raw.release.steps.splice(raw.release.steps.length - 1, 0, { approval: GATE });
  for (const m of raw.release.analysis.metrics) if (m.name === "user-error-rate") m.query = metricsQuery;
  const config = ReleaseConfigSchema.parse(raw);
  return { config, configDigest: configDigest(config) };
}

/** The run's migration: a nullable column on `orders` filled by trigger and backfill (so expand/contract have real work). */
function migrationOf(plan: RunPlan): { name: string; column: string; text: string } {
  const column = `chaos_${plan.version}`;
  return {
    name: `${String(plan.index + 1).padStart(4, "0")}_chaos_${plan.version}`,
    column,
    text: `description: orders get ${column} (chaos run ${plan.index})
operations:
  - add_column:
      table: orders
      column: { name: ${column}, type: text, nullable: true, up: "'${plan.version}:' || coalesce(version, '?')" }
`,
  };
}

function stageMigrations(dir: string, files: Array<{ name: string; text: string }>): void {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  fs.copyFileSync(INITIAL_MIGRATION, path.join(dir, "0001_initial.yaml"));
  for (const f of files) fs.writeFileSync(path.join(dir, `${f.name}.yaml`), f.text);
}

async function resultOf(
  handle: WorkflowHandle<typeof deploymentWorkflow>,
  deadline: number,
): Promise<DeploymentResult> {
  // result() is a long poll; a Temporal restart breaks it, so ask again until the deadline.
  for (;;) {
    try {
      return await handle.result();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      const name = (err as Error).name;
      if (name === "WorkflowFailedError") throw err;
      await sleep(500);
    }
  }
}

export async function runCampaign(s: CampaignSettings): Promise<CampaignResult> {
  const t0 = Date.now();
  const log = s.log;
  const options: CampaignOptions = {
    ...DEFAULT_CAMPAIGN,
    seed: s.seed,
    runs: s.runs,
    ...(s.faultsPerRun !== undefined ? { faultsPerRun: s.faultsPerRun } : {}),
    ...(s.force ? { force: s.force } : {}),
  };
  const plans = planCampaign(options);
  const random = seededRandom(s.seed ^ 0x5eed);
  const dir = path.join(stateDir(), "chaos", `seed-${s.seed}-${Date.now()}`);
  process.env.SHIPSHAPE_STATE_DIR = dir;
  const migrationsDir = path.join(dir, "release", "migrations");
  const result: CampaignResult = {
    seed: s.seed,
    plannedRuns: s.runs,
    runs: [],
    finalViolations: [],
    unexpectedWorkerExits: 0,
    stateDir: dir,
    durationMs: 0,
  };
  const cleanups: Array<() => Promise<unknown>> = [];
  // Ctrl-C (or CI's timeout) mid-campaign still stops everything the campaign started.
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    stopping = true;
    log(`\n${signal}: stopping the campaign's processes…`);
    void (async () => {
      for (const c of cleanups) await c().catch(() => undefined);
      process.exit(130);
    })();
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const stack = await startLocalStack({
    dir,
    temporalPort: await freePort(),
    uiPort: null,
    persistent: true,
    withWorker: false,
    taskQueue: "shipshape-chaos",
    log: (l) => log(`  · ${l}`),
  });
  cleanups.push(() => stack.stop());
  const infraPorts = [stack.temporal.port, stack.postgres.port];
  try {
    const pool = new Pool({ connectionString: stack.databaseUrl, max: 2 });
    pool.on("error", () => undefined); // idle clients die with the postgres-stop fault
    const engine = createMigrationEngine({ connectionString: stack.databaseUrl, service: SCOPE.service });
    cleanups.unshift(async () => {
      await engine.close().catch(() => undefined);
      await pool.end().catch(() => undefined);
    });
    stageMigrations(migrationsDir, []);
    for (const { definition } of loadMigrationsDir(migrationsDir)) {
      await engine.start(definition);
      await engine.complete(definition.name);
    }
    let currentMigration = "0001_initial";
    const completed: Array<{ name: string; text: string }> = [];

    const routerName = routerNameFor(SCOPE);
    const router = await ensureRouterProcess(routerName);
    cleanups.unshift(() => stopRouterProcess(routerName, { purge: true }));
    infraPorts.push(Number(new URL(router.url).port), Number(new URL(router.adminUrl).port));
    const traffic = createLocalTrafficRouter({
      adminUrl: router.adminUrl,
      token: router.token,
      healthPath: "/health",
    });

    // Whatever happens, no shop instance or Pulumi stack of the campaign outlives it.
    const destroyAll = async () => {
      const prefix = `${SCOPE.service}-${SCOPE.environment}-`;
      for (const st of pulumiStacks().filter((x) => x.startsWith(prefix))) {
        await localInfraDriver
          .destroyEnvironment(
            { deploymentId: "chaos-cleanup", ...SCOPE, version: st.slice(prefix.length) },
            () => {},
          )
          .catch((err) => log(`  · destroy ${st}: ${String(err)}`));
      }
      await reapScopeProcesses(prefix);
    };
    cleanups.unshift(destroyAll);
    process.env.SHOP_DATABASE_URL = stack.databaseUrl;
    process.env.SHIPSHAPE_MIGRATIONS_DIR = migrationsDir;
    log("  · starting the worker and shop c0 (blue)…");
    const workerReady = stack.startWorker();
    await startShopAsBlue({ scope: SCOPE, version: "c0", databaseUrl: stack.databaseUrl, traffic });
    await workerReady;
    let blue = "c0";

    const load = startTraffic({ url: router.url, rps: s.rps, concurrency: s.concurrency, random });
    let loadStopped = false;
    cleanups.unshift(async () => {
      if (!loadStopped) await load.stop();
    });
    const metrics = await startMetricsEndpoint(load);
    cleanups.unshift(() => metrics.close());
    const connection = await Connection.connect({ address: stack.temporal.address });
    cleanups.unshift(() => connection.close());
    const client = new Client({ connection, namespace: stack.temporal.namespace });
    log(
      `  · stack up in ${((Date.now() - t0) / 1000).toFixed(1)} s; load ${s.rps} req/s through ${router.url}`,
    );

    let carried: FaultPlan[] = [];
    const queue = [...plans];
    let coverageRuns = 0;
    for (let qi = 0; qi < queue.length; qi++) {
      const planned = queue[qi] as RunPlan;
      // Carried faults join the run unless it already has one of their kind (no
      // kind twice in a run); those wait for the run after.
      const faultPlans = [...planned.faults];
      const postponed: FaultPlan[] = [];
      for (const c of carried) {
        if (faultPlans.some((f) => f.kind === c.kind)) postponed.push(c);
        else faultPlans.push(c);
      }
      const plan: RunPlan = {
        ...planned,
        faults: faultPlans,
        approvalGate: planned.approvalGate || faultPlans.some((f) => f.kind === "approve"),
      };
      carried = postponed;
      const mig = migrationOf(plan);
      stageMigrations(migrationsDir, [...completed, mig]);
      const { config, configDigest: digest } = releaseFor(plan, metrics.query);
      log(
        `\n▶ run ${plan.index}/${queue.length}: ${blue} → ${plan.version} (${plan.health}${plan.approvalGate ? ", approval gate" : ""}); faults: ${
          plan.faults.map((f) => `${f.kind}@${(f.afterMs / 1000).toFixed(1)}s`).join(", ") || "none"
        }`,
      );
      const previousBlue = blue;
      const lastIdBeforeRun = Number(
        (await pool.query<{ n: number }>("SELECT coalesce(max(id), 0)::int AS n FROM orders")).rows[0]?.n ??
          0,
      );
      const startedAt = Date.now();
      const handle = await startDeployment(
        client,
        {
          service: SCOPE.service,
          environment: SCOPE.environment,
          version: plan.version,
          artifact: "examples/shop/server.js",
          requestedBy: "chaos",
          reason: `chaos run ${plan.index} (seed ${s.seed})`,
          config,
          configDigest: digest,
        },
        { taskQueue: stack.taskQueue },
      );
      let closed = false;
      const active = new Set<FaultKind>();
      const ctx: FaultContext = {
        stack,
        metrics,
        handle,
        closed: () => closed,
        gate: plan.approvalGate ? GATE : null,
        active,
        router: { name: routerName, scope: SCOPE, traffic },
        log,
      };
      const faultTasks = plan.faults.map((f) =>
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
      );
      const operator: OperatorAction[] = [];
      const portsSeen = new Map<string, Set<number>>();
      let status: DeploymentStatus | null = null;
      let trafficRestoredAt: number | null = null;
      const approvesItself = !plan.faults.some((f) => f.kind === "approve");

      // Follow the run: what an on-call operator would do, and what the checks need.
      const follow = (async () => {
        while (!closed) {
          await sleep(250);
          if (stopping) break;
          if (stack.worker && stack.worker.child.exitCode !== null && !active.has("worker-kill")) {
            result.unexpectedWorkerExits++;
            log(
              `  ! worker exited on its own (code ${stack.worker.child.exitCode}); the supervisor starts a new one`,
            );
            await stack.startWorker();
          }
          try {
            const routes = await traffic.getRoutes(SCOPE);
            for (const b of [routes.backends.blue, routes.backends.green]) {
              if (!b) continue;
              const set = portsSeen.get(b.version) ?? new Set<number>();
              for (const u of b.instances) set.add(Number(new URL(u).port));
              portsSeen.set(b.version, set);
            }
          } catch {
            // router answers again next time
          }
          try {
            status = await handle.query(statusQuery);
          } catch {
            continue; // no worker or no server right now
          }
          const restore = status.compensations.find((c) => c.name === "restoreTraffic");
          if (restore?.endedAtMs && trafficRestoredAt === null) trafficRestoredAt = restore.endedAtMs;
          const gate = status.pendingApprovals[0]?.gate;
          if (gate && approvesItself && !operator.some((o) => o.kind === "approve")) {
            await handle
              .executeUpdate(approveUpdate, {
                args: [{ gate, by: "alice", reason: "chaos operator: on time" }],
              })
              .then((a) => operator.push({ at: Date.now(), kind: "approve", message: a.message }))
              .catch(() => undefined);
          }
          if (status.paused && active.size === 0) {
            await handle
              .executeUpdate(resumeUpdate, {
                args: [{ by: "bob", reason: "chaos operator: faults repaired" }],
              })
              .then((a) => {
                operator.push({ at: Date.now(), kind: "resume", message: a.message });
                log(`  · operator resumed: ${a.message}`);
              })
              .catch(() => undefined);
          }
        }
      })();

      let runResult: DeploymentResult | null = null;
      let failure: string | null = null;
      try {
        runResult = await resultOf(handle, startedAt + RUN_TIMEOUT_MS);
      } catch (err) {
        failure = String(err);
      }
      const endedAt = Date.now();
      closed = true;
      const faults = await Promise.all(faultTasks);
      await follow;
      await sleep(1000); // requests in flight at the end land on the timeline
      let events: Awaited<ReturnType<typeof fetchEvents>> = [];
      try {
        events = await fetchEvents(handle);
        status = await handle.query(statusQuery);
      } catch (err) {
        failure ??= `history/status unreadable: ${String(err)}`;
      }
      const promoted = runResult?.outcome === "promoted";
      if (promoted) {
        blue = plan.version;
        completed.push(mig);
        currentMigration = mig.name;
      }
      const record: RunRecord = {
        plan,
        scope: SCOPE,
        expectedBlue: blue,
        result: runResult,
        failure,
        status,
        events,
        faults,
        operator,
        startedAt,
        endedAt,
        currentMigration,
        portsSeen,
        trafficRestoredAt,
      };
      const tally = tallyLoad(record, load.between(startedAt, Date.now()));
      const orders = load.orders.filter((o) => o.at >= startedAt && o.at <= Date.now());
      const data = await checkData(
        (q, p) => pool.query(q, p),
        orders,
        promoted ? { column: mig.column, lastIdBeforeRun, previousBlue } : null,
      );
      const violations: Violation[] = [
        ...faults
          .filter((f) => f.detail.startsWith("harness error"))
          .map((f) => ({ invariant: "harness" as const, detail: `${f.kind}: ${f.detail}` })),
        ...checkOutcome(record),
        ...checkLoad(tally),
        ...(await checkLeaks(record, traffic, stack.databaseUrl, config.run.instances)),
        ...data.violations,
        ...checkHistory(record),
      ];
      const engineStatus = await engine.status();
      const phase = engineStatus.migrations.find((m) => m.name === mig.name)?.phase ?? "absent";
      const expectedPhase = promoted ? "completed" : "rolled_back";
      if (runResult && phase !== expectedPhase && !(phase === "absent" && !promoted))
        violations.push({
          invariant: "leak",
          detail: `migration ${mig.name} is ${phase}, expected ${expectedPhase}`,
        });
      if (engineStatus.active)
        violations.push({ invariant: "leak", detail: `migration ${engineStatus.active.name} still active` });

      const probes = { firstSuccessAfter: load.firstSuccessAfter, scrapes: metrics.answeredAt };
      for (const ports of portsSeen.values()) for (const port of ports) infraPorts.push(port);
      const faultOutcomes: FaultOutcome[] = faults.map((f) => ({
        ...f,
        run: plan.index,
        recoveredAt: recoveredAt(record, f, probes),
      }));
      for (const f of faults) {
        if (f.injectedAt === null)
          carried.push({ kind: f.kind, afterMs: randomInt(random, 500, 8000), durationMs: f.durationMs });
      }
      const summary: RunSummary = {
        run: plan.index,
        version: plan.version,
        health: plan.health,
        approvalGate: plan.approvalGate,
        outcome: runResult?.outcome ?? "did not end",
        reason: runResult?.reason ?? failure,
        durationMs: endedAt - startedAt,
        faults: faultOutcomes,
        operator,
        load: { ...tally, unexplained: tally.unexplained.length },
        orders: data.byVersion,
        violations,
      };
      result.runs.push(summary);
      log(
        `  ${violations.length === 0 ? "✓" : "✗"} ${summary.outcome} in ${(summary.durationMs / 1000).toFixed(1)} s${summary.reason ? ` — ${summary.reason.slice(0, 160)}` : ""}`,
      );
      log(
        `    load: ${tally.requests} requests, errors ${JSON.stringify(tally.byWindow)}; orders ${JSON.stringify(data.byVersion)}`,
      );
      for (const v of violations) log(`    ✗ [${v.invariant}] ${v.detail}`);
      if (!runResult) break; // a deployment that never ended leaves nothing sensible to build on
      if (qi === queue.length - 1 && s.coverEveryFault && coverageRuns < 3) {
        const missing = FAULT_KINDS.filter(
          (k) => !result.runs.some((r) => r.faults.some((f) => f.kind === k && f.injectedAt !== null)),
        );
        if (missing.length > 0) {
          coverageRuns++;
          const index = queue.length + 1;
          carried = [];
          queue.push({
            index,
            version: `c${index}`,
            health: "healthy",
            approvalGate: missing.includes("approve"),
            faults: missing.map((kind) => ({
              kind,
              afterMs: randomInt(random, 500, 5000),
              durationMs: randomInt(random, 500, 2500),
            })),
          });
          log(`\n  (coverage: ${missing.join(", ")} not injected yet; one more run for them)`);
        }
      }
    }

    // Teardown, then the machine must be as clean as before the campaign.
    loadStopped = true;
    await load.stop();
    await localInfraDriver.destroyEnvironment(
      { deploymentId: "chaos-cleanup", ...SCOPE, version: blue },
      () => {},
    );
    const leftover = instancesByStack(`${SCOPE.service}-${SCOPE.environment}-`);
    for (const [stackName, pids] of leftover)
      result.finalViolations.push({
        invariant: "leak",
        detail: `after teardown: ${stackName} still runs ${pids.join(", ")}`,
      });
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    for (const c of cleanups) {
      try {
        await c();
      } catch (err) {
        log(`  · cleanup: ${String(err)}`);
      }
    }
  }
  for (const p of pulumiProcesses())
    result.finalViolations.push({
      invariant: "leak",
      detail: `after teardown: pulumi ${p.pid} still running`,
    });
  for (const port of new Set(infraPorts))
    if (!(await portIsFree(port)))
      result.finalViolations.push({ invariant: "leak", detail: `after teardown: port ${port} still bound` });
  const clean = result.runs.every((r) => r.violations.length === 0) && result.finalViolations.length === 0;
  if (clean && !s.keepState) fs.rmSync(dir, { recursive: true, force: true });
  result.durationMs = Date.now() - t0;
  return result;
}
