import { afterAll, beforeAll, describe, expect, it } from "vitest";
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

describe("DeploymentWorkflow: happy path", () => {
  it("runs every phase in order and ends promoted", async () => {
    const fakes = createFakes();
    const { result, status } = await withDeployment(h, fakes, input(releaseConfig()), async (ctx) => {
      const result = await ctx.handle.result();
      return { result, status: await ctx.status() };
    });
    expect(result.outcome).toBe("promoted");
    expect(result.reason).toBeNull();
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
      "backends:v2",
      "destroy:v1",
      "contract:002_add_sku",
    ]);
    // 30s bake / 10s interval = 3 measurements per step, plus 3 in the 30s watch
    expect(fakes.calls.filter((c) => c.startsWith("measure:"))).toEqual([
      ...Array(3).fill("measure:error-rate@10"),
      ...Array(3).fill("measure:error-rate@50"),
      ...Array(6).fill("measure:error-rate@100"),
    ]);
    expect(status.phases.map((p) => p.phase)).toEqual([
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
    expect(status.phases.every((p) => p.endedAtMs !== null && p.durationMs !== null)).toBe(true);
    expect(status.step).toEqual({ index: 3, total: 3, weight: 100 });
    expect(status.weights).toEqual({ blue: 0, green: 100 });
    expect(status.analysis.verdicts.at(-1)?.line).toMatch(/step passed at 100% traffic/);
    const desc = await h.env.client.workflow
      .getHandle(status.deploymentId)
      .describe()
      .catch(() => null);
    expect(desc).toBeNull(); // deploymentId is not the workflow ID
  });
});
