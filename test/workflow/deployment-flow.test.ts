import { WorkflowFailedError, WorkflowNotFoundError } from "@temporalio/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deploymentResult } from "../../client/deployment-result";
import { resumeUpdate } from "../../workflows/deployment/messages";
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

describe("DeploymentWorkflow: what users hit and what they are on", () => {
  const config = releaseConfig({
    steps: [{ weight: 50 }, { weight: 100 }],
    postPromotion: { watch: "1s", keepPrevious: "1s" },
  });

  it("status follows the release: endpoint, serving, artifact digest, the migration it left active", async () => {
    const fakes = createFakes();
    const seen = await withDeployment(h, fakes, input(config), async (ctx) => {
      const expanded = await ctx.until((s) => s.activeMigration !== null, "migration active");
      const result = await deploymentResult(ctx.handle);
      return { expanded, result, final: await ctx.status() };
    });
    expect(seen.result.outcome).toBe("promoted");
    // While the migration is expanded: what users hit, what they are on (blue), this release's digest.
    expect(seen.expanded.endpoint).toBe("http://shop-production.test");
    expect(seen.expanded.serving).toEqual({ version: "v1", artifactDigest: "sha256:v1" });
    expect(seen.expanded.artifactDigest).toBe("sha256:v2");
    expect(seen.expanded.activeMigration).toEqual({ name: "002_add_sku", versionSchema: "shop_002_add_sku" });
    // Promoted: users are on v2, and the migration is completed.
    expect(seen.final.serving).toEqual({ version: "v2", artifactDigest: "sha256:v2" });
    expect(seen.final.activeMigration).toBeNull();
  });

  it("after a rollback users are back on blue, and the migration is no longer active", async () => {
    const fakes = createFakes({ errorRate: (w) => (w === 50 ? 0.2 : 0.001) });
    const { result, status } = await withDeployment(h, fakes, input(config), async (ctx) => ({
      result: await deploymentResult(ctx.handle),
      status: await ctx.status(),
    }));
    expect(result.outcome).toBe("rolled-back");
    expect(status.serving).toEqual({ version: "v1", artifactDigest: "sha256:v1" });
    expect(status.artifactDigest).toBe("sha256:v2");
    expect(status.activeMigration).toBeNull();
  });

  it("a first deployment: nothing serving before, green serves everything from its first step", async () => {
    const fakes = createFakes({ blueVersion: null });
    const { result, status } = await withDeployment(h, fakes, input(config), async (ctx) => ({
      result: await deploymentResult(ctx.handle),
      status: await ctx.status(),
    }));
    expect(result.outcome, result.reason ?? "").toBe("promoted");
    expect(fakes.effects().filter((c) => c.startsWith("weight:"))).toEqual(["weight:100", "weight:100"]);
    expect(status.serving).toEqual({ version: "v2", artifactDigest: "sha256:v2" });
  });
});

describe("DeploymentWorkflow: happy path", () => {
  it("runs every phase in order and ends promoted", async () => {
    const fakes = createFakes();
    const { result, status } = await withDeployment(h, fakes, input(releaseConfig()), async (ctx) => {
      const result = await deploymentResult(ctx.handle);
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
    // the numbers behind the last verdict: one result per metric of the last interval
    expect(status.analysis.latest).toMatchObject({
      stepIndex: 4,
      weightPercent: 100,
      results: [
        { metric: "error-rate", verdict: "pass", threshold: expect.any(String), value: expect.any(Number) },
      ],
    });
    // deploymentId is not the workflow ID: no workflow carries it as its ID
    await expect(h.env.client.workflow.getHandle(status.deploymentId).describe()).rejects.toBeInstanceOf(
      WorkflowNotFoundError,
    );
  });
});

describe("DeploymentWorkflow: input and analysis pauses", () => {
  it.each([
    [{ service: "Bad Name" }, /invalid deployment input — service: lowercase letters, digits and dashes/],
    [{ environment: "staging" }, /environment "staging" is not in the config \(known: production\)/],
    [{ config: { nope: true } as never }, /config must be a normalized release config/],
  ])("rejects invalid input before any side effect (%#)", async (over, message) => {
    const fakes = createFakes();
    const err = await withDeployment(h, fakes, input(releaseConfig(), over), (ctx) =>
      deploymentResult(ctx.handle).then(
        () => null,
        (e: Error) => e,
      ),
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(String((err as WorkflowFailedError).cause?.message)).toMatch(message);
    expect(fakes.calls).toEqual([]);
  });

  it("a metrics-provider outage pauses (never rolls back); a human resume continues to promotion", async () => {
    let outage = 5; // consecutiveErrorLimit 4 tolerated, the 5th pauses
    const fakes = createFakes({
      metricsError: () => (outage-- > 0 ? "prometheus: connection refused" : null),
    });
    const config = releaseConfig({
      steps: [{ weight: 10, bake: "1s" }, { weight: 100 }],
      analysis: {
        interval: "100ms",
        metrics: [{ name: "error-rate", provider: "router", query: "error_rate", max: "1%", critical: true }],
      },
      postPromotion: { watch: "100ms", keepPrevious: "100ms" },
    });
    const { paused, result } = await withDeployment(h, fakes, input(config), async (ctx) => {
      const paused = await ctx.until((s) => s.phase === "paused", "analysis pause");
      await ctx.handle.executeUpdate(resumeUpdate, { args: [{ by: "carol", reason: "prometheus is back" }] });
      return { paused, result: await deploymentResult(ctx.handle) };
    });
    expect(paused.paused).toEqual(
      expect.objectContaining({
        by: "analysis",
        reason: expect.stringMatching(/metrics provider unavailable: .*connection refused/),
      }),
    );
    expect(paused.weights).toEqual({ blue: 90, green: 10 });
    expect(result.outcome).toBe("promoted");
    expect(result.decisions.map((d) => `${d.kind}:${d.by}`)).toEqual([
      "start:alice",
      "analysis:analysis",
      "resume:carol",
    ]);
  });
});
