// Worker-kill recovery on the real local target:
//   npm run bench -- worker-kill-recovery          (20 kills)
//   npx tsx bench/worker-kill-recovery.ts --kills 40
//
// Starts its own embedded stack (test/e2e/crash-rig.ts: Temporal dev server on
// SQLite, PostgreSQL, the shop's router, shop b0 as blue, `shipshape worker`)
// and deploys versions that are aborted at 50%, killing the worker (SIGKILL of
// its process group) while each of five activities runs: provisionGreen
// (`pulumi up` running), expandSchema, restoreTrafficToBlue, rollbackSchema
// (each held in flight by the rig) and destroyGreen (`pulumi destroy`
// running). A new worker is started at once after each kill. Measured on the
// server's clock, from the workflow's history:
//
//   recovery = the kill → the first history event of a worker not seen before
//              (the deployment progressing on the new worker; the chaos
//              suite's worker-kill recovery)
//
// also kill → the new worker polling, and kill → the hit activity completed.
// Goal: recovery p95 ≤ 8 s. Writes bench/results/worker-kill-recovery.json.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { stateDir } from "../lib/runtime/paths";
import {
  abort,
  type CrashRig,
  type FaultRecord,
  type Point,
  quantile,
  recoveryMs,
  startCrashRig,
  stepDoneMs,
} from "../test/e2e/crash-rig";

const GOAL_P95_MS = 8_000;
const POINTS: Point[] = [
  "provisionGreen",
  "expandSchema",
  "restoreTrafficToBlue",
  "rollbackSchema",
  "destroyGreen",
];

interface Kill {
  version: string;
  point: Point;
  recoveryMs: number | null;
  workerUpMs: number | null;
  stepDoneMs: number | null;
}

/** One deployment, killed at each of `points` in turn; aborted at 50% so the compensations run. */
async function killedDeployment(rig: CrashRig, version: string, points: Point[]): Promise<Kill[]> {
  const at = new Set(points);
  // Taken before the deployment starts: expandSchema then waits for it (provisioning does not need it).
  const schemaHold = at.has("expandSchema") ? await rig.hold("expandSchema") : null;
  const d = await rig.deploy(version, "rollback");
  const faults: FaultRecord[] = [];
  const noHold = { release: async () => {} };
  if (at.has("provisionGreen")) faults.push(await rig.hit(d, "provisionGreen", "worker-kill", noHold));
  if (schemaHold) faults.push(await rig.hit(d, "expandSchema", "worker-kill", schemaHold));
  await rig.armFor(d, "destroyGreen"); // waits for green at 50% (a Pulumi point holds nothing)
  const trafficHold = at.has("restoreTrafficToBlue") ? await rig.hold("restoreTrafficToBlue") : null;
  const rollbackHold = at.has("rollbackSchema") ? await rig.hold("rollbackSchema") : null;
  await abort(d);
  if (trafficHold) faults.push(await rig.hit(d, "restoreTrafficToBlue", "worker-kill", trafficHold));
  if (rollbackHold) faults.push(await rig.hit(d, "rollbackSchema", "worker-kill", rollbackHold));
  if (at.has("destroyGreen")) faults.push(await rig.hit(d, "destroyGreen", "worker-kill", noHold));
  const { result, events } = await rig.finish(d);
  if (result.outcome !== "rolled-back")
    throw new Error(`${version} ended ${result.outcome}: ${result.reason}`);
  const left = await rig.leftovers(new Map(faults.flatMap((f) => [...f.ports])));
  if (left.length) throw new Error(`${version} left behind: ${left.join("; ")}`);
  return faults.map((f) => ({
    version,
    point: f.point,
    recoveryMs: recoveryMs(events, f),
    workerUpMs: f.workerUpAt === null ? null : f.workerUpAt - f.at,
    stepDoneMs: stepDoneMs(events, f),
  }));
}

function stats(xs: number[]) {
  return {
    n: xs.length,
    medianMs: Math.round(quantile(xs, 0.5)),
    p95Ms: Math.round(quantile(xs, 0.95)),
    maxMs: Math.round(Math.max(...xs)),
  };
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { kills: { type: "string", default: "20" } } });
  const wanted = Number(values.kills);
  if (!Number.isInteger(wanted) || wanted < 1) throw new Error(`--kills must be a positive integer`);
  const started = Date.now();
  const dir = path.join(stateDir(), "bench", `worker-kill-recovery-${process.pid}`);
  console.log(`starting the embedded stack in ${dir}…`);
  const rig = await startCrashRig(dir);
  const kills: Kill[] = [];
  try {
    for (let n = 1; kills.length < wanted; n++) {
      const points = POINTS.slice(0, Math.min(POINTS.length, wanted - kills.length));
      const got = await killedDeployment(rig, `k${n}`, points);
      for (const k of got)
        console.log(
          `  k${n} ${k.point.padEnd(21)} recovered ${fmt(k.recoveryMs)}  (new worker polling ${fmt(k.workerUpMs)}, step done ${fmt(k.stepDoneMs)})`,
        );
      kills.push(...got);
    }
  } finally {
    await rig.stop();
  }
  const measured = kills.map((k) => k.recoveryMs).filter((x): x is number => x !== null);
  if (measured.length !== kills.length) throw new Error("a kill showed no recovery in the history");
  const overall = stats(measured);
  const byPoint = Object.fromEntries(
    POINTS.map((p) => [p, stats(kills.filter((k) => k.point === p).map((k) => k.recoveryMs as number))]),
  );
  const workerUp = stats(kills.map((k) => k.workerUpMs).filter((x): x is number => x !== null));
  console.log(
    `\nworker-kill recovery over ${overall.n} kills: median ${fmt(overall.medianMs)}, p95 ${fmt(overall.p95Ms)}, max ${fmt(overall.maxMs)} (goal p95 ≤ ${fmt(GOAL_P95_MS)}: ${overall.p95Ms <= GOAL_P95_MS ? "met" : "NOT met"})`,
  );
  console.log(
    `new worker polling after the kill: median ${fmt(workerUp.medianMs)}, p95 ${fmt(workerUp.p95Ms)}`,
  );
  for (const [p, s] of Object.entries(byPoint))
    console.log(
      `  ${p.padEnd(21)} n=${s.n} median ${fmt(s.medianMs)} p95 ${fmt(s.p95Ms)} max ${fmt(s.maxMs)}`,
    );
  const out = {
    benchmark: "worker-kill-recovery",
    at: new Date().toISOString(),
    host: { cpus: os.cpus().length, node: process.version, loadavg: os.loadavg().map((x) => +x.toFixed(2)) },
    setup:
      "real local target (embedded Temporal dev server on SQLite, PostgreSQL, router, Pulumi local stacks); each deployment aborted at 50%; worker SIGKILLed while provisionGreen, expandSchema, restoreTrafficToBlue, rollbackSchema, destroyGreen run; a new worker started at once",
    measure: "SIGKILL → first history event of a worker identity not seen before (server timestamps)",
    goalP95Ms: GOAL_P95_MS,
    meetsGoal: overall.p95Ms <= GOAL_P95_MS,
    overall,
    byPoint,
    newWorkerPolling: workerUp,
    kills,
    totalSeconds: Math.round((Date.now() - started) / 1000),
  };
  fs.mkdirSync(path.join(__dirname, "results"), { recursive: true });
  fs.writeFileSync(
    path.join(__dirname, "results", "worker-kill-recovery.json"),
    `${JSON.stringify(out, null, 2)}\n`,
  );
  console.log(`\nwrote bench/results/worker-kill-recovery.json (${out.totalSeconds} s)`);
  return 0;
}

const fmt = (ms: number | null) => (ms === null ? "—" : `${(ms / 1000).toFixed(2)} s`);

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
