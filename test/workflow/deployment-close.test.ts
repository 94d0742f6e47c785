/**
 * Issue 21: how a deployment workflow closes. A rolled-back run fails
 * (DeploymentRolledBack, non-retryable, its result as the detail) so the Web
 * UI lists it as failed; clients read the same result back through
 * client/deployment-result.ts. Its own time-skipping server: a run another
 * file leaves open would stop time from skipping here.
 */
import { WorkflowFailedError } from "@temporalio/client";
import { ApplicationFailure } from "@temporalio/common";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deploymentResult } from "../../client/deployment-result";
import { FAILURE_TYPES } from "../../lib/deployment/types";
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

describe("how a deployment closes (issue 21: the Web UI tells the outcome at a glance)", () => {
  it("a rolled-back deployment closes as a failed workflow carrying its result", async () => {
    const bad = createFakes({ errorRate: (w) => (w === 50 ? 0.2 : 0.001) });
    const failed = await withDeployment(h, bad, input(releaseConfig()), async (ctx) => {
      const error = await ctx.handle.result().then(
        () => null,
        (e: unknown) => e,
      );
      return {
        error,
        status: (await ctx.handle.describe()).status.name,
        result: await deploymentResult(ctx.handle),
      };
    });
    expect(failed.status).toBe("FAILED");
    expect(failed.error).toBeInstanceOf(WorkflowFailedError);
    const cause = (failed.error as WorkflowFailedError).cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect((cause as ApplicationFailure).type).toBe(FAILURE_TYPES.rolledBack);
    expect((cause as ApplicationFailure).nonRetryable).toBe(true);
    expect(cause?.message).toMatch(
      /^rolled back: analysis failed: error-rate 20(\.0)?% > max 1% at 50% traffic/,
    );
    // What every client reads back (CLI, chaos, demo, report): the same result as before.
    expect(failed.result.outcome).toBe("rolled-back");
    expect(failed.result.reason).toMatch(/analysis failed: error-rate/);
    expect(failed.result.compensations.map((c) => c.name)).toEqual([
      "restoreTraffic",
      "rollbackSchema",
      "destroyGreen",
    ]);
  });

  it("a promoted deployment completes with its result", async () => {
    const good = createFakes();
    const promoted = await withDeployment(h, good, input(releaseConfig()), async (ctx) => ({
      result: await ctx.handle.result(),
      status: (await ctx.handle.describe()).status.name,
    }));
    expect(promoted.status).toBe("COMPLETED");
    expect(promoted.result.outcome).toBe("promoted");
  });
});

describe("a first deployment (no blue) is judged without the judges that compare with blue", () => {
  it("leaves out relative judges, says so once, and promotes on the thresholds", async () => {
    const fakes = createFakes({ blueVersion: null });
    const config = releaseConfig({
      analysis: {
        interval: "10s",
        metrics: [
          { name: "error-rate", provider: "router", query: "error_rate", max: "1%", critical: true },
          { name: "error-rate-vs-blue", provider: "router", query: "error_rate", maxIncrease: "50%" },
        ],
      },
    });
    const { result, status } = await withDeployment(h, fakes, input(config), async (ctx) => ({
      result: await deploymentResult(ctx.handle),
      status: await ctx.status(),
    }));
    expect(result.outcome).toBe("promoted");
    const measured = fakes.calls.filter((c) => c.startsWith("measure:"));
    expect(measured.length).toBeGreaterThan(0);
    expect(measured.every((c) => c.startsWith("measure:error-rate@"))).toBe(true);
    const notes = status.decisions.filter((d) => d.reason.startsWith("first deployment: no blue"));
    expect(notes.map((d) => d.reason)).toEqual([
      "first deployment: no blue to compare with, judged without error-rate-vs-blue",
    ]);
  });
});
