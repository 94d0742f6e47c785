/**
 * The demo's four deployments, each with what it must show (its facts):
 *
 *   1. v1 → v2 healthy: 1% → 10% → 100% with analysis, migration expand /
 *      contract, blue (v1) decommissioned, not one failed measurement.
 *   2. v2 → v3 whose payment client omits the currency (run.env
 *      SHOP_DEFECT=payment-currency): every checkout it takes is declined — a
 *      path the smoke checks never take, so verification passes and real
 *      shoppers find it: caught at 1% by the metrics that watch checkouts,
 *      traffic back on v2 within seconds, migration rolled back, green gone.
 *   3. v3' (version id v3b) with a migration that fails midway: stopped before
 *      any user traffic, nothing half-applied.
 *   4. v4 with an approval gate: approved through the `approve` update, the
 *      worker is SIGKILLed during the 100% bake and replaced, the deployment
 *      continues to promoted.
 */
import type { Outcome } from "../../lib/deployment/types";
import { type DetachedProcess, signalGroup } from "../../lib/runtime/process-group";
import {
  allTrafficOn,
  columnAbsent,
  columnPresent,
  environmentGone,
  environmentUp,
  type Fact,
  indexAbsent,
  migrationPhase,
} from "./checks";
import type { DemoStack } from "./demo-stack";
import { APPROVER, deployVersion } from "./deploy";
import type { Followed } from "./follow";
import { NEW_MIGRATION } from "./migrations";
import { timeToRecovery } from "./recovery";

export interface ScenarioRun {
  f: Followed;
  facts: Fact[];
  /** The summary's "time to recovery" cell. */
  recovery: string;
}

export interface Scenario {
  title: string;
  deployment: string;
  expected: Outcome;
  run(demo: DemoStack): Promise<ScenarioRun>;
}

/** What v3's release config adds to run.env: its payment client omits the currency (examples/shop/server.js DEFECTS). */
export const V3_DEFECT_ENV = { SHOP_DEFECT: "payment-currency" } as const;

/** The metrics that watch checkouts: each trips on the first declined payment. */
export const CHECKOUT_WATCHERS = ["error-rate", "http-5xx", "payment-failures", "checkout-conversion"];

const say = (line: string) => console.log(`  ${line}`);
const sec = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function outcomeFact(f: Followed, expected: Outcome): Fact {
  return { what: `outcome ${f.result.outcome}`, ok: f.result.outcome === expected };
}

function noFailedMeasurement(f: Followed): Fact {
  const failed = f.failedMeasurements.map((m) => `${m.metric} at ${m.weightPercent}%`);
  return {
    what:
      failed.length === 0 ? "no metric failed a measurement" : `failed measurements: ${failed.join(", ")}`,
    ok: failed.length === 0,
  };
}

/** A rolled-back deployment's time to recovery, as a fact and as the summary's cell. */
function recoveryOf(f: Followed): { fact: Fact; cell: string } {
  const r = timeToRecovery(f);
  if (!r) return { fact: { what: "time to recovery: not measured", ok: false }, cell: "—" };
  return {
    fact: { what: `time to recovery ${sec(r.ms)} (${r.what})`, ok: true },
    cell: `${sec(r.ms)} (${r.what})`,
  };
}

const healthyV2: Scenario = {
  title:
    "1/4  shop v1 → v2, healthy: 1% → 10% → 100% with analysis; schema expand/contract; v1 decommissioned",
  deployment: "v1 → v2 healthy",
  expected: "promoted",
  async run(demo) {
    const f = await deployVersion(demo, { version: "v2", label: "healthy release" });
    const facts = [
      outcomeFact(f, "promoted"),
      { what: `green reached ${f.maxGreenWeight}%`, ok: f.maxGreenWeight === 100 },
      noFailedMeasurement(f),
      await allTrafficOn(demo.traffic, "v2"),
      await migrationPhase(demo.engine, NEW_MIGRATION.v2 as string, ["completed"]),
      await columnPresent(demo.pool, "rating"),
      await environmentGone(demo.pulumi, demo.dir, "v1"),
      await environmentUp(demo.pulumi, demo.dir, "v2"),
    ];
    return { f, facts, recovery: "—" };
  },
};

const paymentDefectV3: Scenario = {
  title: "2/4  shop v2 → v3, whose payment client omits the currency: every payment it takes is declined",
  deployment: "v2 → v3 (payments declined)",
  expected: "rolled-back",
  async run(demo) {
    const f = await deployVersion(demo, {
      version: "v3",
      label: "payment defect",
      adjust: (raw) => Object.assign(raw.run.env, V3_DEFECT_ENV),
    });
    const verdict = f.status?.analysis.verdicts.find((v) => v.decision === "fail");
    if (f.result.reason) say(`why: ${f.result.reason}`);
    const declined = await demo.promScalar(
      'max_over_time(sum(shop_payment_failures_total{version="v3"})[10m:1s])',
    );
    say(`shoppers' payments declined by v3 before the verdict: ${declined ?? "?"}`);
    const recovery = recoveryOf(f);
    const facts = [
      outcomeFact(f, "rolled-back"),
      {
        what: "smoke checks passed (the defect is off their path)",
        ok: f.phases.includes("shifting-traffic"),
      },
      {
        what: `caught at ${verdict ? `${verdict.weightPercent}%` : "?"} by ${verdict?.metric ?? "?"} (green never above ${f.maxGreenWeight}%)`,
        ok:
          verdict?.weightPercent === 1 &&
          f.maxGreenWeight === 1 &&
          CHECKOUT_WATCHERS.includes(verdict.metric ?? ""),
      },
      recovery.fact,
      await allTrafficOn(demo.traffic, "v2"),
      await migrationPhase(demo.engine, NEW_MIGRATION.v3 as string, ["rolled_back"]),
      await columnAbsent(demo.pool, "badge"),
      await environmentGone(demo.pulumi, demo.dir, "v3"),
      await environmentUp(demo.pulumi, demo.dir, "v2"),
    ];
    return { f, facts, recovery: recovery.cell };
  },
};

const failingMigrationV3b: Scenario = {
  title: "3/4  shop v3' (v3b) whose migration 0003_barcode fails midway through expand",
  deployment: "v2 → v3' (failing migration)",
  expected: "rolled-back",
  async run(demo) {
    const f = await deployVersion(demo, { version: "v3b", label: "failing migration" });
    if (f.result.reason) say(`why: ${f.result.reason}`);
    const recovery = recoveryOf(f);
    const facts = [
      outcomeFact(f, "rolled-back"),
      { what: `user traffic to v3': ${f.maxGreenWeight}%`, ok: f.maxGreenWeight === 0 },
      { what: "stopped before verification/traffic", ok: !f.phases.includes("shifting-traffic") },
      recovery.fact,
      await allTrafficOn(demo.traffic, "v2"),
      await migrationPhase(demo.engine, NEW_MIGRATION.v3b as string, ["rolled_back"]),
      await columnAbsent(demo.pool, "barcode"),
      await indexAbsent(demo.pool, "products_barcode_idx"),
      await environmentGone(demo.pulumi, demo.dir, "v3b"),
      await environmentUp(demo.pulumi, demo.dir, "v2"),
    ];
    return { f, facts, recovery: recovery.cell };
  },
};

/** v4's hooks: bob approves the gate alice's signed start reached; the worker is SIGKILLed once green carries 100%, and replaced. */
function approveAndKillWorker(demo: DemoStack) {
  const state = { approved: false, killed: false, restart: null as Promise<number> | null };
  const onStatus: NonNullable<Parameters<typeof deployVersion>[1]["onStatus"]> = async (s, approver) => {
    const gate = s.pendingApprovals[0]?.gate;
    if (gate && !state.approved) {
      state.approved = true;
      say(
        `→ ${APPROVER} approves "${gate}", signed with ${APPROVER}'s key (what \`shipshape approve --key\` sends; the worker verifies it against the signers it pins)`,
      );
      await approver.approve(gate);
    }
    if (state.approved && !state.killed && s.weights.green === 100 && s.phase === "shifting-traffic") {
      state.killed = true;
      const w = demo.stack.worker as DetachedProcess;
      say(`→ SIGKILL worker ${w.pid} during the 100% bake`);
      const at = Date.now();
      signalGroup(w.pid, "SIGKILL");
      state.restart = w.exited.then(async () => {
        const nw = await demo.stack.startWorker();
        say(`→ new worker ${nw.pid} polling ${sec(Date.now() - at)} after the kill`);
        return Date.now() - at;
      });
    }
  };
  return { state, onStatus };
}

const gatedV4: Scenario = {
  title:
    "4/4  shop v2 → v4 with an approval gate before full traffic; the worker is SIGKILLed during the bake",
  deployment: "v2 → v4 (approval + worker SIGKILL)",
  expected: "promoted",
  async run(demo) {
    const hooks = approveAndKillWorker(demo);
    const f = await deployVersion(demo, {
      version: "v4",
      label: "approval gate + worker crash",
      adjust: (raw) =>
        raw.release.steps.splice(raw.release.steps.length - 1, 0, { approval: "before-full-traffic" }),
      onStatus: hooks.onStatus,
    });
    const restartMs = hooks.state.restart ? await hooks.state.restart : null;
    const decisions = f.status?.decisions ?? [];
    const approval = decisions.find((d) => d.kind === "approve");
    const signedApproval = approval?.by === APPROVER && Boolean(approval.signed?.signature);
    const facts = [
      outcomeFact(f, "promoted"),
      {
        what: `started signed by alice, approved signed by ${APPROVER} (four-eyes on verified identities)`,
        ok: hooks.state.approved && signedApproval && f.status?.signing?.requester?.identity === "alice",
      },
      { what: "worker killed during the bake and replaced", ok: hooks.state.killed && restartMs !== null },
      noFailedMeasurement(f),
      await allTrafficOn(demo.traffic, "v4"),
      await migrationPhase(demo.engine, NEW_MIGRATION.v4 as string, ["completed"]),
      await environmentGone(demo.pulumi, demo.dir, "v2"),
      await environmentUp(demo.pulumi, demo.dir, "v4"),
    ];
    return { f, facts, recovery: restartMs === null ? "—" : `${sec(restartMs)} (worker replaced)` };
  },
};

export const SCENARIOS: Scenario[] = [healthyV2, paymentDefectV3, failingMigrationV3b, gatedV4];
