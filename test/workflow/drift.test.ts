/**
 * The deployment's drift check before green (environments.<env>.onDrift):
 * the workflow on fake drivers whose target reports a drifted blue. The drift
 * comparison itself is lib/drift's (unit tests); the real local target's
 * inspector is exercised in test/integration/cli/drift.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deploymentResult } from "../../client/deployment-result";
import type { ObservedState } from "../../lib/drift/differences";
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

/** Blue v1 as the fake router has it, with its weight changed by hand to `weight`. */
function observed(weight: number): ObservedState {
  return {
    router: {
      backends: { blue: { version: "v1", weight, instances: ["http://v1-0"], unhealthy: [] } },
      applied: { blue: 100, green: 0 },
    },
    stack: { name: "shop-production-v1", exists: true, instances: ["http://v1-0"], refresh: [] },
    artifact: { stagedDigest: "sha256:v1", contentDigest: "sha256:v1" },
  };
}

function fakesWithBlue(weight: number) {
  const fakes = createFakes();
  const seen: string[] = [];
  fakes.target.drift = {
    observe: async (_scope, version) => {
      seen.push(version);
      return observed(weight);
    },
  };
  return { fakes, seen };
}

const config = (onDrift?: "warn" | "fail") =>
  releaseConfig(
    { steps: [{ weight: 100 }], postPromotion: { watch: "1s", keepPrevious: "1s" } },
    onDrift ? { onDrift } : {},
  );

describe("DeploymentWorkflow: drift of blue before green is provisioned", () => {
  it("onDrift: fail refuses the deployment before anything is provisioned, naming every difference", async () => {
    const { fakes, seen } = fakesWithBlue(40);
    const result = await withDeployment(h, fakes, input(config("fail")), (ctx) =>
      deploymentResult(ctx.handle),
    );
    expect(seen).toEqual(["v1"]);
    expect(result.outcome).toBe("rolled-back");
    expect(result.reason).toContain("has drifted from what its last promotion (v1) left running");
    expect(result.reason).toContain("router weight of blue: expected 100, found 40");
    expect(fakes.effects().filter((c) => c.startsWith("provision"))).toEqual([]);
  });

  it("onDrift: warn (the default) deploys, and records the drift in the status, decision log and a notification", async () => {
    const { fakes } = fakesWithBlue(40);
    const { result, status } = await withDeployment(h, fakes, input(config()), async (ctx) => ({
      result: await deploymentResult(ctx.handle),
      status: await ctx.status(),
    }));
    expect(result.outcome).toBe("promoted");
    expect(status.drift).toEqual({
      version: "v1",
      differences: [{ what: "router weight of blue", expected: "100", actual: "40" }],
    });
    const decision = status.decisions.find((d) => d.kind === "drift");
    expect(decision?.by).toBe("shipshape");
    expect(decision?.reason).toContain("onDrift: warn");
    expect(fakes.calls).toContain("notify:drift-detected");
  });

  it("no drift: nothing recorded, even under onDrift: fail", async () => {
    const { fakes } = fakesWithBlue(100);
    const { result, status } = await withDeployment(h, fakes, input(config("fail")), async (ctx) => ({
      result: await deploymentResult(ctx.handle),
      status: await ctx.status(),
    }));
    expect(result.outcome).toBe("promoted");
    expect(status.drift).toBeUndefined();
    expect(status.decisions.some((d) => d.kind === "drift")).toBe(false);
  });
});
