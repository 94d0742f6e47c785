// Orchestration benchmark: npx tsx bench/orchestration.ts [--runs 20] [--concurrent 200]
//
// DeploymentWorkflow on a real `temporal server start-dev` (started here,
// headless, in-memory) with one in-process worker on instant fake drivers
// (test/support/fakes), so the figures are Temporal + workflow overhead only:
//   (a) overhead: a 5-step plan (1/5/25/50/100%) with zero bake and one
//       instant analysis measurement per step, started through the real
//       startDeployment path, run sequentially `--runs` times: median
//       end-to-end time; per-step overhead = (median 5-step − median 1-step) / 4.
//   (b) scale: `--concurrent` deployments (distinct services, so distinct
//       workflow IDs) started at once on the one worker: time until all
//       finished, peak RSS of this process (worker + client), and whether every
//       one ended "promoted".
// Prints the figures and writes bench/results/orchestration.json. Bounded by
// a 4-minute deadline.

import { randomUUID } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { Client, Connection } from "@temporalio/client";
import { DefaultLogger, NativeConnection, Runtime, Worker } from "@temporalio/worker";
import { createActivities } from "../activities";
import { deploymentResult } from "../client/deployment-result";
import { startDeployment } from "../client/start";
import { startTemporalDevServer } from "../dev/services/temporal-dev-server";
import { devDataConverter } from "../lib/codec/data-converter";
import type { ReleaseConfig } from "../lib/config/schema";
import type { DeploymentResult } from "../lib/deployment/types";
import { readManifest } from "../lib/runtime/toolchain-manifest";
import { input, releaseConfig } from "../test/support/deployment-harness";
import { createFakes } from "../test/support/fakes";
import { bundleWorkflows } from "../workers/workflow-bundle";

const { values: args } = parseArgs({
  options: { runs: { type: "string", default: "20" }, concurrent: { type: "string", default: "200" } },
});
const RUNS = Number(args.runs);
const CONCURRENT = Number(args.concurrent);
const DEADLINE = Date.now() + 4 * 60_000;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const round = (x: number) => Math.round(x * 10) / 10;

function plan(weights: number[]): ReleaseConfig {
  return releaseConfig({
    verify: [],
    steps: weights.map((weight) => ({ weight })),
    postPromotion: { watch: "1ms", keepPrevious: "1ms" },
  });
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger("ERROR") });
  const manifest = readManifest();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "shipshape-bench-orch-"));
  const server = await startTemporalDevServer({
    cliPath: manifest.temporal.path,
    uiPort: null,
    logFile: path.join(dir, "temporal.log"),
  });
  let peakRss = 0;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 100);
  try {
    const connection = await Connection.connect({ address: server.address });
    const client = new Client({ connection, namespace: server.namespace, dataConverter: devDataConverter() });
    const native = await NativeConnection.connect({ address: server.address });
    const taskQueue = `bench-${randomUUID()}`;
    const fakes = createFakes();
    const worker = await Worker.create({
      connection: native,
      namespace: server.namespace,
      taskQueue,
      workflowBundle: await bundleWorkflows(),
      dataConverter: devDataConverter(),
      activities: createActivities(fakes.deps),
    });
    const rssBefore = process.memoryUsage().rss;

    const report = await worker.runUntil(async () => {
      let seq = 0;
      const deploy = async (
        config: ReleaseConfig,
        service: string,
      ): Promise<{ ms: number; result: DeploymentResult }> => {
        const t0 = performance.now();
        const handle = await startDeployment(
          client,
          input({ ...config, service }, { service, version: `v${++seq}`, deploymentId: undefined }),
          { taskQueue },
        );
        const result = await deploymentResult(handle);
        return { ms: performance.now() - t0, result };
      };

      // warm-up (workflow cache, connections)
      await deploy(plan([100]), "warm");
      const five = plan([1, 5, 25, 50, 100]);
      const one = plan([100]);
      const fiveMs: number[] = [];
      const oneMs: number[] = [];
      for (let i = 0; i < RUNS && Date.now() < DEADLINE; i++) {
        const a = await deploy(five, "shop");
        if (a.result.outcome !== "promoted")
          throw new Error(`5-step run ${i} ended ${a.result.outcome}: ${a.result.reason}`);
        fiveMs.push(a.ms);
        const b = await deploy(one, "shop");
        if (b.result.outcome !== "promoted")
          throw new Error(`1-step run ${i} ended ${b.result.outcome}: ${b.result.reason}`);
        oneMs.push(b.ms);
      }
      const overhead = {
        runs: fiveMs.length,
        medianFiveStepMs: round(median(fiveMs)),
        medianOneStepMs: round(median(oneMs)),
        perStepOverheadMs: round((median(fiveMs) - median(oneMs)) / 4),
        minFiveStepMs: round(Math.min(...fiveMs)),
        maxFiveStepMs: round(Math.max(...fiveMs)),
      };
      console.log(
        `(a) 5-step plan, zero bake, instant activities, ${overhead.runs} runs: median ${overhead.medianFiveStepMs} ms end-to-end ` +
          `(1-step ${overhead.medianOneStepMs} ms) → ${overhead.perStepOverheadMs} ms per traffic step`,
      );

      peakRss = process.memoryUsage().rss;
      const t0 = performance.now();
      const all = await Promise.allSettled(
        Array.from({ length: CONCURRENT }, (_, i) => deploy(five, `svc-${i}`).then((r) => r.result)),
      );
      const allMs = performance.now() - t0;
      const promoted = all.filter((r) => r.status === "fulfilled" && r.value.outcome === "promoted").length;
      const failures = all
        .filter((r) => r.status === "rejected" || r.value.outcome !== "promoted")
        .slice(0, 3)
        .map((r) => (r.status === "rejected" ? String(r.reason) : `${r.value.outcome}: ${r.value.reason}`));
      const scale = {
        deployments: CONCURRENT,
        steps: 5,
        totalMs: Math.round(allMs),
        promoted,
        allCorrect: promoted === CONCURRENT,
        peakRssMb: Math.round(peakRss / 1048576),
        rssBeforeMb: Math.round(rssBefore / 1048576),
        failures,
      };
      console.log(
        `(b) ${CONCURRENT} concurrent 5-step deployments on one worker: all finished in ${(allMs / 1000).toFixed(1)} s, ` +
          `${promoted}/${CONCURRENT} promoted, peak RSS ${scale.peakRssMb} MB (worker + client, ${scale.rssBeforeMb} MB before)`,
      );
      return { overhead, scale };
    });

    const out = {
      bench: "orchestration",
      at: new Date().toISOString(),
      machine: { cpus: os.cpus().length, node: process.version, platform: `${os.platform()} ${os.arch()}` },
      server: "temporal server start-dev (in-memory, headless)",
      ...report,
    };
    fs.mkdirSync(path.join(__dirname, "results"), { recursive: true });
    fs.writeFileSync(
      path.join(__dirname, "results", "orchestration.json"),
      `${JSON.stringify(out, null, 2)}\n`,
    );
    console.log("wrote bench/results/orchestration.json");
    await native.close();
    await connection.close();
  } finally {
    clearInterval(sampler);
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
