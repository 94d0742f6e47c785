/**
 * One chaos campaign: the rig (scripts/chaos/rig.ts) with the shop under load
 * for the whole campaign; each planned run (scripts/chaos/run.ts) deploys the
 * next version while its faults fire, then every invariant is checked before
 * the next run starts; at the end everything is torn down and the machine
 * must be as clean as before.
 */
import fs from "node:fs";
import path from "node:path";
import { routerProcessDir } from "../../infra/local/router-process";
import { seededRandom } from "../../lib/random/seeded";
import { portIsFree } from "../../lib/runtime/free-port";
import { stateDir } from "../../lib/runtime/paths";
import { CampaignCleanups } from "./cleanups";
import {
  type CampaignOptions,
  DEFAULT_CAMPAIGN,
  FAULT_KINDS,
  planCampaign,
  planFault,
  type RunPlan,
} from "./plan";
import { SCOPE } from "./release";
import type { CampaignResult, CampaignSettings, RunSummary } from "./results";
import { type CampaignRig, startCampaignRig } from "./rig";
import { type CampaignProgress, type RunContext, runOnce } from "./run";
import {
  cleanUpSecondService,
  createSecondService,
  SECOND_SCOPE,
  stopSecondServiceRouter,
} from "./second-service";
import { instancesByStack, pulumiProcesses, routerProcesses } from "./system";

/** At most this many extra runs for fault kinds the planned runs never injected (--require-every-fault). */
const MAX_COVERAGE_RUNS = 3;

/**
 * A healthy run that injects, early, every fault kind no run has injected yet
 * (null: none missing). An early `abort` would end the run before it
 * finalizes, so while `abort-in-finalize` is missing too, `abort` waits for
 * the next coverage run.
 */
export function coverageRun(runs: RunSummary[], index: number, random: () => number): RunPlan | null {
  let missing = FAULT_KINDS.filter(
    (k) => !runs.some((r) => r.faults.some((f) => f.kind === k && f.injectedAt !== null)),
  );
  if (missing.length === 0) return null;
  if (missing.includes("abort-in-finalize")) missing = missing.filter((k) => k !== "abort");
  return {
    index,
    version: `c${index}`,
    health: "healthy",
    approvalGate: missing.includes("approve"),
    faults: missing.map((kind) => planFault(random, kind, [500, 5000])),
  };
}

/** Every planned run in turn (and the coverage runs); returns the blue version left serving. */
async function runAll(
  rig: CampaignRig,
  plans: RunPlan[],
  ctx: Omit<RunContext, "runCount" | "progress">,
  result: CampaignResult,
): Promise<string> {
  const progress: CampaignProgress = {
    blue: "c0",
    completed: [],
    currentMigration: "0001_initial",
    carried: [],
    destroyed: [],
  };
  const queue = [...plans];
  let coverageRuns = 0;
  for (let qi = 0; qi < queue.length; qi++) {
    const { summary, ended } = await runOnce(rig, queue[qi] as RunPlan, {
      ...ctx,
      progress,
      runCount: queue.length,
    });
    result.runs.push(summary);
    if (!ended) break; // a deployment that never ended leaves nothing sensible to build on
    if (qi === queue.length - 1 && ctx.settings.coverEveryFault && coverageRuns < MAX_COVERAGE_RUNS) {
      const extra = coverageRun(result.runs, queue.length + 1, ctx.random);
      if (extra) {
        coverageRuns++;
        progress.carried = [];
        queue.push(extra);
        const missing = extra.faults.map((f) => f.kind).join(", ");
        ctx.settings.log(`\n  (coverage: ${missing} not injected yet; one more run for them)`);
      }
    }
  }
  return progress.blue;
}

/** Stops the load and destroys blue (and the second service's): no instance of the campaign may still run afterwards. */
async function teardown(
  rig: CampaignRig,
  blues: Array<{ scope: { service: string; environment: string }; version: string }>,
  result: CampaignResult,
): Promise<void> {
  await rig.stopLoad();
  for (const b of blues) {
    await rig.infra.destroyEnvironment(
      { deploymentId: "chaos-cleanup", ...b.scope, version: b.version },
      () => {},
    );
    const leftover = instancesByStack(`${b.scope.service}-${b.scope.environment}-`);
    for (const [stackName, pids] of leftover)
      result.finalViolations.push({
        invariant: "leak",
        detail: `after teardown: ${stackName} still runs ${pids.join(", ")}`,
      });
  }
}

/** After the cleanups: no pulumi or router process, and every port the campaign used is free. */
async function checkMachineClean(
  result: CampaignResult,
  rig: CampaignRig | null,
  infraPorts: number[],
): Promise<void> {
  for (const p of rig ? pulumiProcesses(rig.pulumi) : [])
    result.finalViolations.push({
      invariant: "leak",
      detail: `after teardown: pulumi ${p.pid} still running`,
    });
  // Any router of the campaign (the shop's, the ledger's), given a moment to finish exiting.
  const routers = () => (rig ? routerProcesses(rig.stateDir) : []);
  for (let waited = 0; routers().length > 0 && waited < 5000; waited += 250)
    await new Promise((r) => setTimeout(r, 250));
  for (const p of routers())
    result.finalViolations.push({
      invariant: "leak",
      detail: `after teardown: router process ${p.pid} still running (${p.cmdline.slice(0, 160)})`,
    });
  for (const port of new Set(infraPorts))
    if (!(await portIsFree(port)))
      result.finalViolations.push({ invariant: "leak", detail: `after teardown: port ${port} still bound` });
}

export async function runCampaign(s: CampaignSettings): Promise<CampaignResult> {
  const t0 = Date.now();
  const options: CampaignOptions = {
    ...DEFAULT_CAMPAIGN,
    seed: s.seed,
    runs: s.runs,
    ...(s.faultsPerRun !== undefined ? { faultsPerRun: s.faultsPerRun } : {}),
    ...(s.force ? { force: s.force } : {}),
  };
  const plans = planCampaign(options);
  const random = seededRandom(s.seed ^ 0x5eed);
  const name = `seed-${s.seed}-${Date.now()}`;
  const dir = path.join(stateDir(), "chaos", name);
  // Outside `dir`, which a clean campaign removes: the runs' worker logs are kept either way.
  const reportDir = path.join(stateDir(), "chaos", "reports", name);
  const result: CampaignResult = {
    seed: s.seed,
    plannedRuns: s.runs,
    runs: [],
    finalViolations: [],
    unexpectedWorkerExits: 0,
    stateDir: dir,
    reportDir,
    durationMs: 0,
  };
  const cleanups = new CampaignCleanups(s.log);
  let infraPorts: number[] = [];
  let rig: CampaignRig | null = null;
  try {
    // Everything of the campaign (the worker's state, Pulumi backend, releases) lives under `dir`.
    rig = await startCampaignRig({ dir, settings: s, random, cleanups, startedAt: t0 });
    infraPorts = rig.infraPorts;
    const secondService = createSecondService({
      dir: path.join(dir, "ledger-release"),
      client: rig.client,
      taskQueue: rig.stack.taskQueue,
      databaseUrl: rig.stack.databaseUrl,
      stateDir: rig.stateDir,
      pulumi: rig.pulumi,
      query: (q, p) => rig?.pool.query(q, p) as Promise<unknown>,
    });
    cleanups.add(() => cleanUpSecondService(rig as CampaignRig, s.log));
    // The worker is still running while the cleanup above stops the ledger's
    // router, and any ledger activity it still runs can start that router
    // again (one was left behind after a clean campaign): stopped once more
    // after the worker, nothing can.
    const rigStateDir = rig.stateDir;
    cleanups.addFinal(() => stopSecondServiceRouter(rigStateDir));
    const ctx = {
      settings: s,
      random,
      secondService,
      routerLog: path.join(routerProcessDir(rig.routerName, rig.stateDir), "router.log"),
      reportDir,
      stopping: () => cleanups.stopping,
      onUnexpectedWorkerExit: () => {
        result.unexpectedWorkerExits++;
      },
    };
    const blue = await runAll(rig, plans, ctx, result);
    const ledger = secondService.blue();
    await teardown(
      rig,
      [{ scope: SCOPE, version: blue }, ...(ledger ? [{ scope: SECOND_SCOPE, version: ledger }] : [])],
      result,
    );
  } finally {
    await cleanups.runAll();
  }
  await checkMachineClean(result, rig, infraPorts);
  const clean = result.runs.every((r) => r.violations.length === 0) && result.finalViolations.length === 0;
  if (clean && !s.keepState) fs.rmSync(dir, { recursive: true, force: true });
  result.durationMs = Date.now() - t0;
  return result;
}
