// Rollback speed on the real local target:
//   npx tsx bench/rollback-speed.ts [--runs1 30] [--runs5 3] [--runs10 3]
//
// Starts its own Temporal dev server and PostgreSQL cluster, the local router,
// v1 (blue) on the Pulumi local target and a worker with the real drivers
// (test/integration/analysis/e2e/rig.ts). Each run deploys a bad version
// (every 2nd /api request answers 500, fault-preload.cjs) with one 10% step and
// a critical router error-rate metric (max 1%), under real load through the
// router (scripts/load/generate-load.ts, 100 rps), and measures
//
//   t0 = the first response the load generator receives from green
//        (x-shipshape-backend: green)
//   t1 = the first moment the router's table says blue 100% (polled every 20 ms),
//        also: the last green response seen by the load generator
//
// rollback time = t1 − t0, at analysis intervals of 1 s, 5 s and 10 s; median
// and p95 over 30 runs at 1 s. The router's metrics are watched within each
// interval (workflows/deployment/watch.ts), so the bad version is judged as
// soon as its window holds minRequests requests, whatever the interval.
// Goal: ≤ interval + 1 s. Writes bench/results/rollback-speed.json.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { DefaultLogger, Runtime } from "@temporalio/worker";
import { startPostgresCluster } from "../dev/services/postgres-cluster";
import { startTemporalDevServer } from "../dev/services/temporal-dev-server";
import { stateDir } from "../lib/runtime/paths";
import { readManifest } from "../lib/runtime/toolchain-manifest";
import {
  backgroundLoad,
  FAULT_PRELOAD,
  observeResponses,
  type Rig,
  startRig,
  waitFor,
} from "../test/integration/analysis/e2e/rig";

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
};
const round = (x: number) => Math.round(x);

interface Run {
  intervalS: number;
  version: string;
  /** t1 − t0: first green response → router table blue 100%. */
  rollbackMs: number;
  /** first green response → last green response seen by the load generator. */
  lastGreenMs: number;
  /** first green response → the failing verdict's workflow time. */
  detectMs: number;
  greenResponses: number;
  verdict: string;
}

async function oneRun(rig: Rig, intervalS: number, version: string): Promise<Run> {
  let firstGreen: number | undefined;
  let lastGreen: number | undefined;
  let greenResponses = 0;
  const undo = observeResponses((at, backend) => {
    if (backend !== "green") return;
    greenResponses++;
    firstGreen ??= at;
    lastGreen = at;
  });
  const load = backgroundLoad(rig.router.url, 100, 8);
  try {
    const handle = await rig.deploy(
      version,
      {
        steps: [
          { weight: 10, bake: "120s" },
          { weight: 100, bake: "1s" },
        ],
        analysis: {
          interval: `${intervalS}s`,
          minRequests: 1,
          inconclusiveLimit: 100,
          metrics: [
            { name: "error-rate", provider: "router", query: "error_rate", max: "1%", critical: true },
          ],
        },
        postPromotion: { watch: "1s", keepPrevious: "1s" },
      },
      { NODE_OPTIONS: `--require ${FAULT_PRELOAD}`, SHOP_FAULT_EVERY: "2" },
    );
    const t0 = await waitFor("first green response", async () => firstGreen, 90_000, 10);
    const t1 = await waitFor(
      "router table blue 100%",
      async () => {
        const r = await rig.traffic.getRoutes(rig.scope);
        return r.split.blue === 100 ? Date.now() : undefined;
      },
      intervalS * 1000 + 30_000,
      20,
    );
    const result = await rig.result(handle, 90_000);
    if (result.outcome !== "rolled-back") throw new Error(`expected rolled-back, got ${result.outcome}`);
    const s = await rig.status(handle);
    const fail = s.analysis.verdicts.find((v) => v.decision === "fail");
    return {
      intervalS,
      version,
      rollbackMs: t1 - t0,
      lastGreenMs: (lastGreen ?? t0) - t0,
      detectMs: (fail?.atMs ?? Number.NaN) - t0,
      greenResponses,
      verdict: fail?.line ?? "(no fail verdict)",
    };
  } finally {
    await load.stop();
    undo();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs1: { type: "string", default: "30" },
      runs5: { type: "string", default: "3" },
      runs10: { type: "string", default: "3" },
    },
  });
  Runtime.install({ logger: new DefaultLogger("ERROR") });
  const manifest = readManifest();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "shipshape-bench-rollback-"));
  const benchState = path.join(stateDir(), "bench-rollback", `run-${process.pid}`);
  const started = Date.now();
  const pg = await startPostgresCluster({
    bindir: manifest.postgres.bindir,
    dataDir: path.join(dir, "pg"),
    fast: true,
  });
  const temporal = await startTemporalDevServer({
    cliPath: manifest.temporal.path,
    uiPort: null,
    logFile: path.join(dir, "temporal.log"),
  });
  let rig: Rig | undefined;
  try {
    pg.createDatabase("bench_rollback");
    rig = await startRig({
      temporalAddress: temporal.address,
      databaseUrl: pg.urlFor("bench_rollback"),
      // inside the project: the Pulumi local program resolves @pulumi/pulumi from its work dir
      stateDir: benchState,
      environment: "benchrb",
    });
    const runs: Run[] = [];
    const plan: Array<[number, number]> = [
      [1, Number(values.runs1)],
      [5, Number(values.runs5)],
      [10, Number(values.runs10)],
    ];
    for (const [intervalS, n] of plan) {
      for (let i = 1; i <= n; i++) {
        const r = await oneRun(rig, intervalS, `bad-${intervalS}s-${i}`);
        runs.push(r);
        console.log(
          `interval ${intervalS}s run ${i}: rollback ${r.rollbackMs} ms (last green response +${r.lastGreenMs} ms, ` +
            `verdict +${r.detectMs} ms, ${r.greenResponses} green responses) — ${r.verdict}`,
        );
      }
    }
    const summary = plan.map(([intervalS]) => {
      const xs = runs.filter((r) => r.intervalS === intervalS).map((r) => r.rollbackMs);
      const goalMs = intervalS * 1000 + 1000;
      const median = round(quantile(xs, 0.5));
      const p95 = round(quantile(xs, 0.95));
      return { intervalS, runs: xs.length, medianMs: median, p95Ms: p95, goalMs, meetsGoal: p95 <= goalMs };
    });
    console.log("\ninterval  runs  median   p95     goal (interval + 1 s)");
    for (const s of summary) {
      console.log(
        `${`${s.intervalS}s`.padEnd(9)} ${String(s.runs).padEnd(5)} ${`${s.medianMs} ms`.padEnd(8)} ${`${s.p95Ms} ms`.padEnd(7)} ${s.goalMs} ms ${s.meetsGoal ? "met" : "MISSED"}`,
      );
    }
    const out = {
      benchmark: "rollback-speed",
      at: new Date().toISOString(),
      host: { cpus: os.cpus().length, node: process.version },
      setup:
        "real local target: Temporal dev server, Pulumi local stacks (examples/shop/server.js), local router; " +
        "bad version = every 2nd /api request 500; step 10%; critical router error_rate max 1%; load 100 rps through the router",
      measure:
        "first green response seen by the load generator (x-shipshape-backend) → first router table with blue 100% (20 ms polling)",
      summary,
      runs,
      totalSeconds: Math.round((Date.now() - started) / 1000),
    };
    fs.mkdirSync(path.join(__dirname, "results"), { recursive: true });
    fs.writeFileSync(
      path.join(__dirname, "results", "rollback-speed.json"),
      `${JSON.stringify(out, null, 2)}\n`,
    );
    console.log(`\nwrote bench/results/rollback-speed.json (${out.totalSeconds} s)`);
  } finally {
    await rig?.close().catch(() => undefined);
    await temporal.stop();
    pg.stop();
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(benchState, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
