/**
 * A rig to crash a deployment at one exact activity, on the real local
 * target: its own Temporal dev server (persistent SQLite, so it can be
 * restarted), PostgreSQL, the shop's router, `shipshape worker` processes and
 * shop `b0` as blue — one per test file (or benchmark), deployments one after
 * another.
 *
 * The activity is caught while it runs, not guessed by timing: before the
 * workflow reaches it, the rig holds what the activity needs — the router's
 * control process is SIGSTOPped (traffic activities hang on its admin API),
 * the migration engine's command lock is taken (schema activities wait for
 * it, heartbeating) — or, for Pulumi activities, waits until the `pulumi` CLI
 * of that operation runs. Then the fault hits: SIGKILL the worker's process
 * group, SIGKILL the `pulumi` CLI, or restart the Temporal server; the hold is
 * released and (after a worker kill) a new worker started.
 *
 * Everything is read back from the machine and from the workflow's history,
 * never from fakes: event order, recovery times (server timestamps), what is
 * left running or recorded.
 */
import fs from "node:fs";
import path from "node:path";
import { Client, Connection, type WorkflowHandle } from "@temporalio/client";
import { Client as PgClient } from "pg";
import YAML from "yaml";
import { deploymentResult } from "../../client/deployment-result";
import { buildDeploymentInput } from "../../client/release-input";
import { startDeployment } from "../../client/start";
import { type LocalStack, startLocalStack } from "../../dev/stack/local-stack";
import { SHOP_ARTIFACT, SHOP_RELEASE_BASE, startShopAsBlue } from "../../dev/stack/shop-blue";
import { createLocalInfraDriver } from "../../infra/local/driver";
import { localStackName, localStackPaths } from "../../infra/local/program";
import {
  ensureRouterProcess,
  readRouterProcess,
  routerHaproxyPid,
  routerNameFor,
  stopRouterProcess,
} from "../../infra/local/router-process";
import { createLocalTrafficRouter } from "../../infra/local/traffic-router";
import { devPulumiSettings, type PulumiSettings } from "../../infra/pulumi/settings";
import { devDataConverter } from "../../lib/codec/data-converter";
import type { DeploymentResult } from "../../lib/deployment/types";
import { createMigrationEngine } from "../../lib/migrations/engine";
import { loadMigrationsDir } from "../../lib/migrations/file-format";
import { findLeftovers } from "../../lib/migrations/leftovers";
import { COMMAND_LOCK_KEY } from "../../lib/migrations/state";
import { versionSchemaName } from "../../lib/migrations/versioned-schema";
import { freePort, portIsFree } from "../../lib/runtime/free-port";
import { type DetachedProcess, signalGroup } from "../../lib/runtime/process-group";
import { fetchEvents, type HistoryEvent } from "../../scripts/chaos/history";
import { stageMigrations } from "../../scripts/chaos/release";
import {
  instancesByStack,
  pendingOperations,
  processesWithEnv,
  pulumiCliProcesses,
  pulumiLocks,
  pulumiProcesses,
  pulumiStacks,
  reapScopeProcesses,
} from "../../scripts/chaos/system";
import type { deploymentWorkflow } from "../../workflows";
import { abortUpdate, statusQuery } from "../../workflows/deployment/messages";

export const SCOPE = { service: "shop", environment: "crashpoints" } as const;
const STACK_PREFIX = `${SCOPE.service}-${SCOPE.environment}-`;

/** The activities a crash can hit, and what holds each in flight. */
export const POINTS = {
  provisionGreen: "pulumi-up",
  expandSchema: "migration-lock",
  restoreTrafficToBlue: "router",
  rollbackSchema: "migration-lock",
  destroyGreen: "pulumi-destroy",
  finalizeRoutes: "router",
  decommissionBlue: "pulumi-destroy",
  contractSchema: "migration-lock",
} as const;
export type Point = keyof typeof POINTS;

export type FaultKind = "worker-kill" | "pulumi-kill" | "temporal-restart";

/** rollback: aborted at the 50% step; promote: one 100% step, then finalize. */
export type Mode = "rollback" | "promote";

/** The compensations, and the finalize steps, in the order the workflow runs them. */
export const ROLLBACK_ORDER = ["restoreTrafficToBlue", "rollbackSchema", "destroyGreen"];
export const FINALIZE_ORDER = ["finalizeRoutes", "decommissionBlue", "contractSchema"];

export type Handle = WorkflowHandle<typeof deploymentWorkflow>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined> | T | undefined,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** What holds an activity in flight until the fault has hit. */
export interface Hold {
  release(): Promise<void>;
}

export interface Deployment {
  version: string;
  mode: Mode;
  handle: Handle;
  /** The migration this deployment expands (and contracts or rolls back). */
  migration: { name: string; text: string };
}

export interface FaultRecord {
  kind: FaultKind;
  point: Point;
  /** Epoch ms the fault hit. */
  at: number;
  /** Identity of the worker that ran the activity when it was hit. */
  identity: string;
  /** Epoch ms a new worker polled (worker-kill only). */
  workerUpAt: number | null;
  /** Every port an instance of the scope listened on when the fault hit. */
  ports: Map<string, number[]>;
}

export interface CrashRig {
  stack: LocalStack;
  client: Client;
  pulumi: PulumiSettings;
  stateDir: string;
  databaseUrl: string;
  traffic: ReturnType<typeof createLocalTrafficRouter>;
  /** The version on blue now. */
  blue: string;
  /** Every migration completed so far (the next release carries them), the last one current. */
  completed: Array<{ name: string; text: string }>;
  deploy(version: string, mode: Mode): Promise<Deployment>;
  /** Waits until the deployment is where `point` can be armed (green at 50% / 100%) and arms its hold. */
  armFor(d: Deployment, point: Point): Promise<Hold>;
  /** Holds what `point`'s activity needs now (nothing for Pulumi points). */
  hold(point: Point): Promise<Hold>;
  /** Waits until `point`'s activity runs (for Pulumi points: its CLI too); the identity of its worker. */
  reach(d: Deployment, point: Point, timeoutMs?: number): Promise<{ identity: string; pulumiPid?: number }>;
  /** Hits `point` with the fault (then releases the hold and, after a kill, starts a new worker). */
  hit(d: Deployment, point: Point, kind: FaultKind, hold: Hold): Promise<FaultRecord>;
  finish(d: Deployment): Promise<{ result: DeploymentResult; events: HistoryEvent[] }>;
  /** What of the scope is left that should not be: processes, ports, stacks, locks, schema objects, routes. */
  leftovers(faultPorts: Map<string, number[]>): Promise<string[]>;
  stop(): Promise<void>;
}

const releaseConfig = (mode: Mode) => ({
  service: SCOPE.service,
  ...SHOP_RELEASE_BASE,
  environments: { [SCOPE.environment]: { target: "local" } },
  release: {
    verify: [{ http: { path: "/health", expect: 200 } }],
    // rollback: the 50% bake outlasts any crash; the rig aborts it. promote: the
    // keep window leaves room to arm a hold between 100% and finalize.
    steps: mode === "rollback" ? [{ weight: 50, bake: "30m" }, { weight: 100 }] : [{ weight: 100 }],
    postPromotion: { watch: "1s", keepPrevious: "4s" },
  },
});

function migrationFor(index: number, version: string) {
  const column = `cp_${version}`;
  return {
    name: `${String(index + 2).padStart(4, "0")}_crash_${version}`,
    text: `description: orders get ${column}
operations:
  - add_column:
      table: orders
      column: { name: ${column}, type: text, nullable: true, up: "'${version}:' || coalesce(version, '?')" }
`,
  };
}

/** Ports of every instance of the scope, per stack, from the local target's pidfiles. */
function instancePorts(stateDir: string): Map<string, number[]> {
  const out = new Map<string, number[]>();
  const runRoot = path.join(stateDir, "local", "run");
  if (!fs.existsSync(runRoot)) return out;
  for (const stack of fs.readdirSync(runRoot).filter((s) => s.startsWith(STACK_PREFIX))) {
    const { runDir } = localStackPaths(stateDir, stack);
    const ports = fs
      .readdirSync(runDir)
      .filter((f) => /^instance-\d+\.json$/.test(f))
      .map((f) => Number(JSON.parse(fs.readFileSync(path.join(runDir, f), "utf8")).port));
    out.set(stack, ports);
  }
  return out;
}

export async function startCrashRig(dir: string, log: (line: string) => void = () => {}): Promise<CrashRig> {
  fs.rmSync(dir, { recursive: true, force: true });
  const stack = await startLocalStack({
    dir,
    temporalPort: await freePort(),
    uiPort: null,
    persistent: true,
    withWorker: false,
    taskQueue: "shipshape-crashpoints",
    log,
  });
  const cleanups: Array<() => Promise<unknown> | unknown> = [() => stack.stop()];
  const stop = async () => {
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch((e) => log(`cleanup: ${e}`));
    cleanups.length = 0;
  };
  try {
    const stateDir = stack.stateDir;
    const pulumi = devPulumiSettings(stateDir);
    const infra = createLocalInfraDriver({ stateDir, pulumi });
    const releaseDir = path.join(dir, "release");
    const migrationsDir = path.join(releaseDir, "migrations");

    stageMigrations(migrationsDir, []);
    const engine = createMigrationEngine({ connectionString: stack.databaseUrl, ...SCOPE });
    try {
      for (const { definition } of loadMigrationsDir(migrationsDir)) {
        await engine.start(definition);
        await engine.complete(definition.name);
      }
    } finally {
      await engine.close();
    }
    const initial = loadMigrationsDir(migrationsDir).map((m) => m.definition.name);

    const routerName = routerNameFor(SCOPE);
    const router = await ensureRouterProcess(routerName, { stateDir });
    cleanups.push(() => stopRouterProcess(routerName, { purge: true, stateDir }));
    cleanups.push(async () => {
      for (const st of pulumiStacks(pulumi).filter((s) => s.startsWith(STACK_PREFIX)))
        await infra
          .destroyEnvironment(
            { deploymentId: "crash-cleanup", ...SCOPE, version: st.slice(STACK_PREFIX.length) },
            () => {},
          )
          .catch((e) => log(`destroy ${st}: ${e}`));
      await reapScopeProcesses(STACK_PREFIX);
    });
    const traffic = createLocalTrafficRouter({
      adminUrl: router.adminUrl,
      token: router.token,
      healthPath: "/health",
    });
    const workerReady = stack.startWorker();
    await startShopAsBlue({
      scope: SCOPE,
      version: "b0",
      databaseUrl: stack.databaseUrl,
      traffic,
      stateDir,
      pulumi,
    });
    await workerReady;

    const connection = await Connection.connect({ address: stack.temporal.address });
    cleanups.push(() => connection.close());
    const client = new Client({
      connection,
      namespace: stack.temporal.namespace,
      dataConverter: devDataConverter(),
    });

    let deployments = 0;
    const rig: CrashRig = {
      stack,
      client,
      pulumi,
      stateDir,
      databaseUrl: stack.databaseUrl,
      traffic,
      blue: "b0",
      completed: [],

      async deploy(version, mode) {
        const migration = migrationFor(deployments++, version);
        stageMigrations(migrationsDir, [...rig.completed, migration]);
        const configPath = path.join(releaseDir, "shipshape.yaml");
        fs.writeFileSync(configPath, YAML.stringify(releaseConfig(mode)));
        const input = await buildDeploymentInput({
          configPath,
          service: SCOPE.service,
          environment: SCOPE.environment,
          version,
          artifact: SHOP_ARTIFACT,
          requestedBy: "crash-points",
          reason: `crash points: ${mode}`,
        });
        const handle = await startDeployment(client, input, { taskQueue: stack.taskQueue });
        return { version, mode, handle, migration };
      },

      async armFor(d, point) {
        const weight = d.mode === "rollback" ? 50 : 100;
        await until(`${d.version} at ${weight}%`, 180_000, async () => {
          const s = await d.handle.query(statusQuery);
          if (s.outcome)
            throw new Error(`${d.version} ended ${s.outcome} before ${weight}%: ${s.outcomeReason}`);
          return s.weights.green === weight ? true : undefined;
        });
        return holdFor(point);
      },

      hold: (point) => holdFor(point),

      async reach(d, point, timeoutMs = 180_000) {
        const kind = POINTS[point];
        return until(`${point} running`, timeoutMs, async () => {
          const desc = await d.handle.describe();
          const p = desc.raw.pendingActivities?.find((a) => a.activityType?.name === point);
          if (!p?.lastWorkerIdentity || Number(p.state) !== 2 /* STARTED */) {
            if (desc.status.name !== "RUNNING") throw new Error(`${d.version} closed before ${point} ran`);
            return undefined;
          }
          if (kind === "pulumi-up" || kind === "pulumi-destroy") {
            const op = kind === "pulumi-up" ? /\sup(\s|$)/ : /\sdestroy(\s|$)/;
            const cli = pulumiCliProcesses(pulumi).find((c) => op.test(c.cmdline));
            return cli ? { identity: p.lastWorkerIdentity, pulumiPid: cli.pid } : undefined;
          }
          return { identity: p.lastWorkerIdentity };
        });
      },

      async hit(d, point, kind, hold) {
        const { identity, pulumiPid } = await rig.reach(d, point);
        const ports = instancePorts(stateDir);
        const at = Date.now();
        let workerUpAt: number | null = null;
        if (kind === "worker-kill") {
          const w = stack.worker as DetachedProcess;
          signalGroup(w.pid, "SIGKILL");
          await w.exited;
          await hold.release();
          await stack.startWorker();
          workerUpAt = Date.now();
        } else if (kind === "pulumi-kill") {
          if (!pulumiPid) throw new Error(`${point} runs no pulumi to kill`);
          // The CLI alone (it runs in the worker's group): its plugins are Shipshape's to clean up.
          process.kill(pulumiPid, "SIGKILL");
          await hold.release();
        } else {
          await stack.temporal.restart(1000);
          await hold.release();
        }
        log(`${kind} at ${point} of ${d.version} (worker ${identity})`);
        return { kind, point, at, identity, workerUpAt, ports };
      },

      async finish(d) {
        const result = await deploymentResult(d.handle);
        const events = await fetchEvents(d.handle);
        if (result.outcome === "promoted") {
          rig.blue = d.version;
          rig.completed.push(d.migration);
        }
        return { result, events };
      },

      async leftovers(faultPorts) {
        const problems: string[] = [];
        const blueStack = localStackName({ ...SCOPE, version: rig.blue }, stateDir);
        const routes = await traffic.getRoutes(SCOPE);
        if (routes.backends.blue?.version !== rig.blue || routes.backends.green || routes.split.blue !== 100)
          problems.push(
            `router: blue ${routes.backends.blue?.version ?? "none"} ${routes.split.blue}%, green ${routes.backends.green?.version ?? "none"}`,
          );
        const running = instancesByStack(STACK_PREFIX);
        for (const [st, groups] of running)
          if (st !== blueStack) problems.push(`process: ${groups.length} instance(s) of ${st} running`);
        if ((running.get(blueStack)?.length ?? 0) !== 1)
          problems.push(`process: blue ${blueStack} not running once`);
        for (const [st, ports] of faultPorts) {
          if (st === blueStack) continue;
          for (const p of ports) if (!(await portIsFree(p))) problems.push(`port: ${p} of ${st} still bound`);
        }
        const stacks = pulumiStacks(pulumi).filter((s) => s.startsWith(STACK_PREFIX));
        if (stacks.length !== 1 || stacks[0] !== blueStack)
          problems.push(`pulumi stacks: [${stacks.join(", ")}], expected [${blueStack}]`);
        const locks = pulumiLocks(pulumi);
        if (locks.length) problems.push(`pulumi locks: ${locks.join(", ")}`);
        const pending = pendingOperations(pulumi, blueStack);
        if (pending) problems.push(`pulumi: ${pending} pending operation(s) in ${blueStack}`);
        // A plugin of a killed CLI is stopped by the next Pulumi operation on the stack; give exits a moment.
        const deadline = Date.now() + 5000;
        while (pulumiProcesses(pulumi).length && Date.now() < deadline) await sleep(100);
        for (const p of pulumiProcesses(pulumi))
          problems.push(`pulumi process ${p.pid}: ${p.cmdline.slice(0, 60)}`);
        const left = await findLeftovers(stack.databaseUrl, SCOPE.service);
        if (left.triggers.length) problems.push(`schema: triggers ${left.triggers.join(", ")}`);
        if (left.functions.length) problems.push(`schema: functions ${left.functions.join(", ")}`);
        if (left.unrecordedInternal.length)
          problems.push(`schema: unrecorded internal ${left.unrecordedInternal.join(", ")}`);
        if (left.invalidIndexes.length)
          problems.push(`schema: invalid indexes ${left.invalidIndexes.join(", ")}`);
        const current = rig.completed.at(-1)?.name ?? initial.at(-1) ?? "";
        const schema = versionSchemaName({ ...SCOPE, migration: current });
        if (left.versionSchemas.length !== 1 || left.versionSchemas[0] !== schema)
          problems.push(`schema: version schemas [${left.versionSchemas.join(", ")}], expected [${schema}]`);
        const active = await activeMigrations(stack.databaseUrl);
        if (active.length) problems.push(`schema: migrations still active: ${active.join(", ")}`);
        return problems;
      },

      stop,
    };

    async function holdFor(point: Point): Promise<Hold> {
      const kind = POINTS[point];
      if (kind === "router") {
        const info = readRouterProcess(routerName, stateDir);
        if (!info) throw new Error(`router ${routerName} is not running`);
        // The control process is tsx and the node it runs (one group, its pid the group's);
        // HAProxy, the data plane, keeps running.
        const haproxy = routerHaproxyPid(routerName, stateDir);
        const control = processesWithEnv(["SHIPSHAPE_ROUTER_TOKEN"])
          .filter((p) => p.pgid === info.pid && p.pid !== haproxy)
          .map((p) => p.pid);
        if (control.length === 0) throw new Error(`router ${routerName}: no control process found`);
        for (const pid of control) process.kill(pid, "SIGSTOP");
        let released = false;
        const release = async () => {
          if (released) return;
          released = true;
          for (const pid of control) process.kill(pid, "SIGCONT");
        };
        cleanups.push(release);
        return { release };
      }
      if (kind === "migration-lock") {
        const c = new PgClient({ connectionString: stack.databaseUrl });
        await c.connect();
        await c.query("SELECT pg_advisory_lock($1::bigint)", [COMMAND_LOCK_KEY]);
        let released = false;
        const release = async () => {
          if (released) return;
          released = true;
          await c.end();
        };
        cleanups.push(release);
        return { release };
      }
      return { release: async () => {} };
    }

    return rig;
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Migrations of the scope that are neither completed nor rolled back. */
async function activeMigrations(url: string): Promise<string[]> {
  const c = new PgClient({ connectionString: url });
  await c.connect();
  try {
    const r = await c.query<{ name: string; phase: string }>(
      "SELECT name, phase FROM shipshape_migrations.migrations WHERE phase NOT IN ('completed', 'rolled_back')",
    );
    return r.rows.map((x) => `${x.name} (${x.phase})`);
  } finally {
    await c.end();
  }
}

/** Sends the abort an operator would (the rollback starts with restoring traffic). */
export async function abort(d: Deployment): Promise<void> {
  await d.handle.executeUpdate(abortUpdate, {
    args: [{ by: "crash-points", reason: "crash a compensation" }],
  });
}

// ─────────────────────────────────────────────────────────────── history

const isType = (e: HistoryEvent, type: string, activity?: string) =>
  e.type === type && (activity === undefined || e.activity === activity);

/**
 * Order problems of a closed deployment's history: each step of `order` (the
 * compensations, or the finalize steps) completed before the next one was
 * scheduled — so traffic was back on blue before anything was destroyed, or
 * green had the routes before blue was decommissioned.
 */
export function orderProblems(events: HistoryEvent[], order: string[]): string[] {
  const problems: string[] = [];
  for (let i = 0; i + 1 < order.length; i++) {
    const done = events.filter((e) => isType(e, "ACTIVITY_TASK_COMPLETED", order[i]));
    if (done.length !== 1) {
      problems.push(`${order[i]} completed ${done.length} times`);
      continue;
    }
    for (const later of order.slice(i + 1)) {
      const early = events.find((e) => isType(e, "ACTIVITY_TASK_SCHEDULED", later) && e.id < done[0]!.id);
      if (early)
        problems.push(
          `${later} scheduled (event ${early.id}) before ${order[i]} completed (event ${done[0]!.id})`,
        );
    }
  }
  const last = order.at(-1)!;
  if (events.filter((e) => isType(e, "ACTIVITY_TASK_COMPLETED", last)).length !== 1)
    problems.push(`${last} did not complete exactly once`);
  return problems;
}

/**
 * What the history says the fault did to the activity it hit: a worker kill
 * timed the attempt out and another worker completed it; a Pulumi kill failed
 * the attempt and a later one completed it.
 */
export function faultProblems(events: HistoryEvent[], f: FaultRecord): string[] {
  const after = events.filter((e) => e.at >= f.at && e.activity === f.point);
  const completed = after.find((e) => e.type === "ACTIVITY_TASK_COMPLETED");
  const problems: string[] = [];
  if (!completed) problems.push(`${f.point} never completed after the ${f.kind}`);
  if (f.kind === "worker-kill") {
    if (!after.some((e) => e.type === "ACTIVITY_TASK_TIMED_OUT"))
      problems.push(`${f.point}: the killed attempt did not time out`);
    // A step retried by the workflow (compensations, finalize) goes again at
    // once: a dead worker says nothing about the step, so no backoff timer.
    const timedOut = after.find((e) => e.type === "ACTIVITY_TASK_TIMED_OUT");
    const again = timedOut
      ? events.find((e) => e.id > timedOut.id && isType(e, "ACTIVITY_TASK_SCHEDULED", f.point))
      : undefined;
    if (
      timedOut &&
      again &&
      events.some((e) => e.id > timedOut.id && e.id < again.id && e.type === "TIMER_STARTED")
    )
      problems.push(`${f.point}: a backoff timer ran between the timed-out attempt and the next`);
    const startedBy = after.filter((e) => e.type === "ACTIVITY_TASK_STARTED").map((e) => e.identity);
    if (startedBy.at(-1) === f.identity || startedBy.length === 0)
      problems.push(`${f.point} was not run again by a new worker (started by ${startedBy.join(", ")})`);
  }
  if (
    f.kind === "pulumi-kill" &&
    !events.some((e) => e.type === "ACTIVITY_TASK_FAILED" && e.activity === f.point)
  )
    problems.push(`${f.point}: no attempt failed after its pulumi was killed`);
  return problems;
}

/**
 * Fault → recovered, on the server's clock, as the chaos suite counts it
 * (scripts/chaos/invariants.ts recoveredAt): a worker kill — the first event
 * of a worker not seen before; a Pulumi kill — the Pulumi activity completed;
 * a Temporal restart — the first event after the server is back.
 */
export function recoveryMs(events: HistoryEvent[], f: FaultRecord): number | null {
  const after = (pred: (e: HistoryEvent) => boolean) =>
    events.find((e) => e.at >= f.at && pred(e))?.at ?? null;
  let t: number | null;
  if (f.kind === "worker-kill") {
    const before = new Set(events.filter((e) => e.at < f.at && e.identity).map((e) => e.identity));
    t = after((e) => e.identity !== null && !before.has(e.identity));
  } else if (f.kind === "pulumi-kill") {
    t = after((e) => e.type === "ACTIVITY_TASK_COMPLETED" && e.activity === f.point);
  } else {
    t = after(() => true);
  }
  return t === null ? null : t - f.at;
}

/** When the activity hit by the fault completed again, after the fault. */
export function stepDoneMs(events: HistoryEvent[], f: FaultRecord): number | null {
  const e = events.find(
    (x) => x.at >= f.at && x.type === "ACTIVITY_TASK_COMPLETED" && x.activity === f.point,
  );
  return e ? e.at - f.at : null;
}

export const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
};
