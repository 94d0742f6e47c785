// Judging within the interval (workflows/deployment/watch.ts): while an
// interval's timer runs, a watch polls the critical threshold metrics of
// providers that can be polled (the fake router here is made watchable, as
// the real one is) and ends the interval as soon as one fails, so a bad
// release is rolled back well before the interval ends. The time-skipping
// server does not skip time while the watch runs: these run in real time, on
// short bakes (a 10 s interval that the watch ends long before its timer).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deploymentResult } from "../../client/deployment-result";
import {
  createHarness,
  type Harness,
  input,
  releaseConfig,
  withDeployment,
} from "../support/deployment-harness";
import { createFakes } from "../support/fakes";

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h?.env.teardown();
});

const measures = (calls: string[]) => calls.filter((c) => c.startsWith("measure:")).length;

describe("critical metrics are judged within the interval", () => {
  it("a failing critical metric ends the interval at once: judged and rolled back long before its timer", async () => {
    const config = releaseConfig({
      steps: [
        { weight: 10, bake: "30s" },
        { weight: 100, bake: "30s" },
      ],
    });
    const fakes = createFakes({ watchable: true, errorRate: (w) => (w === 10 ? 0.2 : 0.001) });
    const started = Date.now();
    const { result, status } = await withDeployment(h, fakes, input(config), async (ctx) => ({
      result: await deploymentResult(ctx.handle),
      status: await ctx.status(),
    }));
    expect(result.outcome).toBe("rolled-back");
    expect(result.reason).toMatch(/^analysis failed: error-rate 20% > max 1% at 10% traffic \(1 of 1 sample/);
    const traffic = status.phases.find((p) => p.phase === "shifting-traffic")!;
    const fail = status.analysis.verdicts.find((v) => v.decision === "fail")!;
    // The interval is 10 s; the watch saw the failure on its first poll.
    expect(fail.atMs - traffic.startedAtMs).toBeLessThan(5_000);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(fakes.effects().slice(-4)).toEqual([
      "weight:0",
      "backends:v1",
      "rollbackSchema:002_add_sku",
      "destroy:v2",
    ]);
  });

  it("healthy: the watch polls within every interval and ends with it", async () => {
    const config = releaseConfig({
      steps: [{ weight: 100, bake: "3s" }],
      analysis: {
        interval: "1s",
        metrics: [{ name: "error-rate", provider: "router", query: "error_rate", max: "1%", critical: true }],
      },
      postPromotion: { watch: "1s", keepPrevious: "1s" },
    });
    const fakes = createFakes({ watchable: true });
    const { result, status } = await withDeployment(h, fakes, input(config), async (ctx) => ({
      result: await deploymentResult(ctx.handle),
      status: await ctx.status(),
    }));
    expect(result.outcome, result.reason ?? "").toBe("promoted");
    // 3 intervals in the step and 1 in the watch were judged, each from its timer...
    expect(status.analysis.verdicts.filter((v) => /step passed/.test(v.line))).toHaveLength(2);
    // ...while the watch polled in between (every 100 ms).
    expect(measures(fakes.calls)).toBeGreaterThan(4 + 10);
  });

  it("providers that cannot be polled are not watched: one answer per run, and time keeps skipping", async () => {
    // An hour of 10 s intervals on the time-skipping server: only possible if no watch holds the clock.
    const config = releaseConfig({ steps: [{ weight: 100, bake: "1h" }] });
    const fakes = createFakes();
    const started = Date.now();
    const result = await withDeployment(h, fakes, input(config), (ctx) => deploymentResult(ctx.handle));
    expect(result.outcome).toBe("promoted");
    expect(measures(fakes.calls)).toBe(360 + 3);
    expect(Date.now() - started).toBeLessThan(60_000);
  }, 120_000);
});
