// Long bakes within Temporal's limits: a plan that bakes for a day at a 10 s
// interval, and a week's post-promotion watch, run on the time-skipping
// server with fake drivers. Each is tens of thousands of history events —
// past Temporal's hard limit of 51,200, where the server would terminate the
// run with no compensation — so the deployment continues as new
// (workflows/deployment/continuation.ts). What must hold: every run's
// history stays far below the limit, the chain is one deployment (status,
// decision log, compensations, analysis counts carried), and a verdict that
// fails late still rolls back exactly as a short deployment does.
import { WorkflowFailedError } from "@temporalio/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deploymentReport } from "../../client/deployment-report";
import { deploymentResult } from "../../client/deployment-result";
import type { DeploymentResult } from "../../lib/deployment/types";
import type { DeploymentStatus } from "../../workflows/deployment/state";
import {
  createHarness,
  type Harness,
  input,
  type RunContext,
  releaseConfig,
  withDeployment,
} from "../support/deployment-harness";
import { createFakes, type FakeOptions } from "../support/fakes";

/** Temporal's hard limit; a run past it is terminated by the server. */
const TEMPORAL_HISTORY_LIMIT = 51_200;
/** What every run must stay under: far below the limit, whatever the plan. */
const RUN_BUDGET = 10_000;

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h?.env.teardown();
});

/** Every run of the deployment, first to last, with its event count (each start names the run it continued from). */
async function runsOf(ctx: RunContext): Promise<Array<{ runId: string; events: number }>> {
  const runs: Array<{ runId: string; events: number }> = [];
  let runId: string | undefined = (await ctx.handle.describe()).runId;
  while (runId) {
    const history = await h.env.client.workflow.getHandle(ctx.handle.workflowId, runId).fetchHistory();
    runs.unshift({ runId, events: history.events?.length ?? 0 });
    runId =
      history.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
  }
  return runs;
}

/** Healthy for the first `n` measurements, then the error rate jumps to 20%. */
function failingAfter(n: number): FakeOptions & { measured: () => number } {
  let measured = 0;
  return { errorRate: () => (++measured > n ? 0.2 : 0.001), measured: () => measured };
}

interface Finished {
  result: DeploymentResult;
  status: DeploymentStatus;
  runs: Array<{ runId: string; events: number }>;
}

async function finish(ctx: RunContext): Promise<Finished> {
  const result = await deploymentResult(ctx.handle);
  return { result, status: await ctx.status(), runs: await runsOf(ctx) };
}

function expectWithinLimits(runs: Finished["runs"], status: DeploymentStatus): void {
  const total = runs.reduce((n, r) => n + r.events, 0);
  // One run could not have held it: Temporal would have terminated it mid-deployment.
  expect(total).toBeGreaterThan(TEMPORAL_HISTORY_LIMIT);
  for (const r of runs) expect(r.events, `run ${r.runId}`).toBeLessThan(RUN_BUDGET);
  expect(status.chain).toMatchObject({ runs: runs.length, firstRunId: runs[0]!.runId });
}

describe("long bakes continue as new, one deployment across the runs", () => {
  it("a 24-hour plan at a 10 s interval whose verdict fails in its last hour rolls back, traffic first", async () => {
    // 3 steps × 8 h at 10 s = 8,640 intervals; the error rate jumps 8,500 intervals in (hour 23.6, at 100%).
    const config = releaseConfig({
      steps: [
        { weight: 10, bake: "8h" },
        { weight: 50, bake: "8h" },
        { weight: 100, bake: "8h" },
      ],
      postPromotion: { watch: "10m", keepPrevious: "1h" },
    });
    const late = failingAfter(8_500);
    const fakes = createFakes(late);
    const { result, status, runs } = await withDeployment(h, fakes, input(config), finish);

    expectWithinLimits(runs, status);
    expect(runs.length).toBeGreaterThanOrEqual(20);
    expect(result.outcome).toBe("rolled-back");
    expect(result.reason).toMatch(/^analysis failed: error-rate 20% > max 1% at 100% traffic/);
    // Measured every interval across all runs, and stopped at the first failure (critical metric).
    expect(late.measured()).toBe(8_501);
    // The compensations registered in the first run ran in the last one, traffic first.
    expect(fakes.effects()).toEqual([
      "artifact:shop-v2.tgz",
      "provision:v2",
      "expand",
      "verify:http /health",
      "attach",
      "weight:0",
      "weight:10",
      "weight:50",
      "weight:100",
      "weight:0",
      "backends:v1",
      "rollbackSchema:002_add_sku",
      "destroy:v2",
    ]);
    expect(result.compensations).toEqual([
      { name: "restoreTraffic", status: "done", attempts: 1 },
      { name: "rollbackSchema", status: "done", attempts: 1 },
      { name: "destroyGreen", status: "done", attempts: 1 },
    ]);
    // One deployment: the phases of every run in one list, the day of traffic as one phase.
    expect(status.phases.map((p) => p.phase)).toEqual([
      "validating",
      "preflight",
      "provisioning-green",
      "expanding-schema",
      "verifying-green",
      "shifting-traffic",
      "rolling-back",
      "rolled-back",
    ]);
    const traffic = status.phases.find((p) => p.phase === "shifting-traffic")!;
    expect(traffic.durationMs).toBeGreaterThan(23.5 * 3_600_000);
    expect(traffic.durationMs).toBeLessThan(24 * 3_600_000);
    expect(result.decisions.map((d) => d.kind)).toEqual(["start", "analysis"]);
    expect(status.serving).toEqual({ version: "v1", artifactDigest: "sha256:v1" });
    expect(status.step).toEqual({ index: 3, total: 3, weight: 100 });
  }, 900_000);

  it("a 7-day post-promotion watch promotes, finalizing what the first run created", async () => {
    // 7 days at a 2 min interval = 5,040 intervals after promotion.
    const config = releaseConfig({
      steps: [{ weight: 100, bake: "2m" }],
      analysis: {
        interval: "2m",
        metrics: [{ name: "error-rate", provider: "router", query: "error_rate", max: "1%", critical: true }],
      },
      postPromotion: { watch: "7d", keepPrevious: "8d" },
    });
    const fakes = createFakes();
    const { result, status, runs } = await withDeployment(h, fakes, input(config), finish);

    expectWithinLimits(runs, status);
    expect(result.outcome).toBe("promoted");
    expect(fakes.calls.filter((c) => c.startsWith("measure:"))).toHaveLength(1 + 5_040);
    // Green, blue and the migration known in the first run are what finalize acts on in the last.
    expect(fakes.effects().slice(-3)).toEqual(["backends:v2", "destroy:v1", "contract:002_add_sku"]);
    const phases = Object.fromEntries(status.phases.map((p) => [p.phase, p.durationMs]));
    expect(phases["post-promotion-watch"]).toBeGreaterThanOrEqual(7 * 86_400_000);
    expect(phases["post-promotion-watch"]).toBeLessThan(7 * 86_400_000 + 3_600_000);
    // The keep window is counted from promotion across the chain: 8 days in all (+ task latency).
    expect(phases["keeping-previous"]).toBeGreaterThanOrEqual(86_400_000);
    expect(phases["keeping-previous"]).toBeLessThan(86_400_000 + 60_000);
    expect(status.analysis.verdicts.at(-1)?.line).toMatch(/step passed at 100% traffic/);
  }, 900_000);

  it("the report reads the chain as one deployment: one start, every interval, the last run's end", async () => {
    // 70 min at 10 s: past the threshold once, so two runs.
    const config = releaseConfig({
      steps: [
        { weight: 50, bake: "70m" },
        { weight: 100, bake: "10s" },
      ],
      postPromotion: { watch: "10s", keepPrevious: "1m" },
    });
    const fakes = createFakes();
    const { runs, m } = await withDeployment(h, fakes, input(config), async (ctx) => {
      await deploymentResult(ctx.handle);
      return { runs: await runsOf(ctx), m: await deploymentReport(h.env.client, ctx.handle.workflowId) };
    });
    expect(runs.length).toBe(2);
    expect(m).toMatchObject({ outcome: "promoted", runId: runs[1]!.runId, deploymentId: "dep-1" });
    expect(m.metrics[0]!.points).toHaveLength(fakes.calls.filter((c) => c.startsWith("measure:")).length);
    expect(m.weights.map((w) => w.green)).toEqual([0, 50, 100, 100, 100]);
    expect(m.phases.map((p) => p.phase)).toEqual([
      "validating",
      "preflight",
      "provisioning-green",
      "expanding-schema",
      "verifying-green",
      "shifting-traffic",
      "post-promotion-watch",
      "keeping-previous",
      "finalizing",
      "promoted",
    ]);
    expect(m.decisions.map((d) => d.kind)).toEqual(["start"]);
  }, 300_000);

  it("a start that carries state over is refused: only the workflow continues as new", async () => {
    const config = releaseConfig();
    const err = await withDeployment(h, createFakes(), { ...input(config), continued: {} }, (ctx) =>
      deploymentResult(ctx.handle).then(
        () => null,
        (e: unknown) => e,
      ),
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(String((err as WorkflowFailedError).cause?.message)).toMatch(
      /invalid deployment input — continued: only a run that continues as new carries state over/,
    );
  });
});
