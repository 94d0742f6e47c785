import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deploymentResult } from "../../client/deployment-result";
import { SA } from "../../lib/search-attributes";
import {
  abortUpdate,
  retryCompensationUpdate,
  skipCompensationUpdate,
} from "../../workflows/deployment/messages";
import {
  createHarness,
  type Harness,
  input,
  type Release,
  releaseConfig,
  withDeployment,
} from "../support/deployment-harness";
import { createFakes, type FakeOptions, type Fakes } from "../support/fakes";

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h?.env.teardown();
});

const UNDO_TRAFFIC = ["weight:0", "backends:v1"];
const UNDO_SCHEMA = ["rollbackSchema:002_add_sku"];
const UNDO_GREEN = ["destroy:v2"];
const TO_VERIFY = ["artifact:shop-v2.tgz", "provision:v2", "expand", "verify:http /health"];
const TO_STEP1 = [...TO_VERIFY, "attach", "weight:0", "weight:10"];
const FIVE = (c: string) => Array(5).fill(c) as string[];

describe("failure injected at every phase → exact compensation order", () => {
  it.each<{
    phase: string;
    setup: (f: Fakes) => void;
    options?: FakeOptions;
    expected: string[];
    reason: RegExp;
    comps: string[];
  }>([
    {
      phase: "preflight (missing artifact, not retried)",
      setup: () => undefined,
      options: { artifactExists: false },
      expected: ["artifact:shop-v2.tgz"],
      reason: /artifact shop-v2.tgz does not exist/,
      comps: [],
    },
    {
      phase: "provisioning-green",
      setup: (f) => f.faults.set("provision", Infinity),
      expected: ["artifact:shop-v2.tgz", ...FIVE("provision:v2"), ...UNDO_GREEN],
      reason: /provisioning-green failed: injected failure in provision:v2/,
      comps: ["destroyGreen"],
    },
    {
      phase: "expanding-schema",
      setup: (f) => f.faults.set("expand", Infinity),
      expected: [
        "artifact:shop-v2.tgz",
        "provision:v2",
        ...FIVE("expand"),
        "rollbackSchema:unknown",
        ...UNDO_GREEN,
      ],
      reason: /expanding-schema failed/,
      comps: ["rollbackSchema", "destroyGreen"],
    },
    {
      phase: "verifying-green",
      setup: (f) => f.faults.set("verify", Infinity),
      expected: [...TO_VERIFY.slice(0, 3), ...FIVE("verify:http /health"), ...UNDO_SCHEMA, ...UNDO_GREEN],
      reason: /verifying-green failed/,
      comps: ["rollbackSchema", "destroyGreen"],
    },
    {
      phase: "shifting-traffic (attach green)",
      setup: (f) => f.faults.set("attach", Infinity),
      expected: [...TO_VERIFY, ...FIVE("attach"), ...UNDO_TRAFFIC, ...UNDO_SCHEMA, ...UNDO_GREEN],
      reason: /shifting-traffic failed/,
      comps: ["restoreTraffic", "rollbackSchema", "destroyGreen"],
    },
    {
      phase: "shifting-traffic (step 2 weight)",
      setup: (f) => f.faults.set("weight:50", Infinity),
      expected: [...TO_STEP1, ...FIVE("weight:50"), ...UNDO_TRAFFIC, ...UNDO_SCHEMA, ...UNDO_GREEN],
      reason: /shifting-traffic failed/,
      comps: ["restoreTraffic", "rollbackSchema", "destroyGreen"],
    },
  ])("$phase", async ({ setup, options, expected, reason, comps }) => {
    const fakes = createFakes(options);
    setup(fakes);
    const result = await withDeployment(h, fakes, input(releaseConfig()), (ctx) =>
      deploymentResult(ctx.handle),
    );
    expect(result.outcome).toBe("rolled-back");
    expect(result.reason).toMatch(reason);
    expect(fakes.effects()).toEqual(expected);
    expect(result.compensations.map((c) => c.name)).toEqual(comps);
    expect(result.compensations.every((c) => c.status === "done")).toBe(true);
  });

  it("analysis failure at step k: traffic back to blue before any other compensation", async () => {
    const fakes = createFakes({ errorRate: (w) => (w === 50 ? 0.2 : 0.001) });
    const { result, status } = await withDeployment(h, fakes, input(releaseConfig()), async (ctx) => ({
      result: await deploymentResult(ctx.handle),
      status: await ctx.status(),
    }));
    expect(result.outcome).toBe("rolled-back");
    expect(result.reason).toMatch(/analysis failed: error-rate 20(\.0)?% > max 1% at 50% traffic/);
    // the first bad measurement at 50% fails at once (critical), then traffic is restored first
    const effects = fakes.effects();
    expect(effects).toEqual([...TO_STEP1, "weight:50", ...UNDO_TRAFFIC, ...UNDO_SCHEMA, ...UNDO_GREEN]);
    expect(fakes.calls.filter((c) => c.startsWith("measure:"))).toEqual([
      ...Array(3).fill("measure:error-rate@10"),
      "measure:error-rate@50",
    ]);
    expect(status.analysis.status).toBe("failed");
    expect(status.analysis.decisions.at(-1)?.line).toMatch(/error-rate .* at 50% traffic/);
    expect(status.decisions.some((d) => d.kind === "analysis" && d.by === "analysis")).toBe(true);
    expect(status.weights).toEqual({ blue: 100, green: 0 });
  });

  it("failed post-promotion watch rolls back while blue is still warm", async () => {
    const fakes = createFakes({ errorRate: (w) => (w === 100 ? 0.05 : 0.001) });
    const config = releaseConfig({ steps: [{ weight: 10, bake: "20s" }, { weight: 100 }] });
    const result = await withDeployment(h, fakes, input(config), (ctx) => deploymentResult(ctx.handle));
    expect(result.outcome).toBe("rolled-back");
    expect(fakes.effects()).toEqual([
      ...TO_STEP1,
      "weight:100",
      ...UNDO_TRAFFIC,
      ...UNDO_SCHEMA,
      ...UNDO_GREEN,
    ]);
  });
});

// One retry: now and then the Java time-skipping server answers a workflow task
// of these aborts with "ACTIVITY_UNKNOWN" and the task then retries forever, so
// the test hangs to its timeout (seen twice in 1,211-test runs on 2 loaded
// cores, on different phases, since the notification lanes run activities
// beside the forward path). The real server has no such state; the worker-crash,
// e2e crash-point and chaos runs cover aborts there. A retry passes only if
// every assertion below holds on a fresh deployment.
describe("abort at every phase", { retry: 1 }, () => {
  // Zero bakes before the abort point: the server does not skip time while the test polls.
  const Z = (weight: number, bake?: string) => (bake ? { weight, bake } : { weight });
  it.each<{
    phase: string;
    block?: string;
    steps?: Release["steps"];
    postPromotion?: Release["postPromotion"];
    at?: (s: { phase: string; step: { index: number }; weights: { green: number } }) => boolean;
    forward: string[];
    undo: string[];
  }>([
    { phase: "preflight", block: "artifact", forward: ["artifact:shop-v2.tgz"], undo: [] },
    {
      phase: "provisioning-green",
      block: "provision",
      forward: ["artifact:shop-v2.tgz", "provision:v2"],
      undo: UNDO_GREEN,
    },
    {
      phase: "expanding-schema",
      block: "expand",
      forward: ["artifact:shop-v2.tgz", "provision:v2", "expand"],
      undo: ["rollbackSchema:unknown", ...UNDO_GREEN],
    },
    { phase: "verifying-green", block: "verify", forward: TO_VERIFY, undo: [...UNDO_SCHEMA, ...UNDO_GREEN] },
    {
      phase: "awaiting-approval",
      steps: [Z(10), { approval: "go-live" }, Z(100, "20s")],
      at: (s) => s.phase === "awaiting-approval",
      forward: TO_STEP1,
      undo: [...UNDO_TRAFFIC, ...UNDO_SCHEMA, ...UNDO_GREEN],
    },
    {
      phase: "shifting-traffic",
      steps: [Z(10), Z(50, "1h"), Z(100)],
      // Abort once weight 50 is applied (the workflow is baking on a timer), not
      // while setTrafficWeight is in flight: the Java time-skipping server rejects
      // the cancel of an activity that completed in the same task
      // ("ACTIVITY_UNKNOWN") and the workflow task then retries forever. The real
      // server accepts it; worker-crash and chaos runs cover that race there.
      at: (s) => s.phase === "shifting-traffic" && s.step.index === 2 && s.weights.green === 50,
      forward: [...TO_STEP1, "weight:50"],
      undo: [...UNDO_TRAFFIC, ...UNDO_SCHEMA, ...UNDO_GREEN],
    },
    {
      phase: "post-promotion-watch",
      steps: [Z(10), Z(50), Z(100)],
      postPromotion: { watch: "1h", keepPrevious: "2h" },
      at: (s) => s.phase === "post-promotion-watch",
      forward: [...TO_STEP1, "weight:50", "weight:100"],
      undo: [...UNDO_TRAFFIC, ...UNDO_SCHEMA, ...UNDO_GREEN],
    },
    {
      phase: "keeping-previous",
      steps: [Z(10), Z(50), Z(100)],
      postPromotion: { watch: "100ms", keepPrevious: "1h" },
      at: (s) => s.phase === "keeping-previous",
      forward: [...TO_STEP1, "weight:50", "weight:100"],
      undo: [...UNDO_TRAFFIC, ...UNDO_SCHEMA, ...UNDO_GREEN],
    },
  ])("$phase", async ({ block, steps, postPromotion, at, forward, undo }) => {
    const fakes = createFakes();
    if (block) fakes.block.add(block);
    const config = releaseConfig({
      ...(steps ? { steps } : {}),
      ...(postPromotion ? { postPromotion } : {}),
    });
    const { result, answer } = await withDeployment(h, fakes, input(config), async (ctx) => {
      if (block) await ctx.waitUntil(() => fakes.calls.some((c) => c.startsWith(block)), `${block} called`);
      else await ctx.until((s) => at!(s), "abort point");
      const answer = await ctx.handle.executeUpdate(abortUpdate, {
        args: [{ by: "bob", reason: "customer complaints" }],
      });
      return { answer, result: await deploymentResult(ctx.handle) };
    });
    expect(answer.message).toMatch(/aborted by bob/);
    expect(result.outcome).toBe("rolled-back");
    expect(result.reason).toBe("aborted by bob: customer complaints");
    expect(fakes.effects()).toEqual([...forward, ...undo]);
    expect(result.decisions.filter((d) => d.kind === "abort")).toEqual([
      expect.objectContaining({ by: "bob", reason: "customer complaints" }),
    ]);
  });

  it("workflow cancellation mid-activity: the activity is cancelled, rollback completes", async () => {
    const fakes = createFakes();
    fakes.block.add("verify");
    const result = await withDeployment(h, fakes, input(releaseConfig()), async (ctx) => {
      await ctx.waitUntil(() => fakes.calls.some((c) => c.startsWith("verify")), "verify running");
      await ctx.handle.cancel();
      return deploymentResult(ctx.handle);
    });
    expect(result.outcome).toBe("rolled-back");
    expect(result.reason).toBe("workflow cancelled: abort and roll back");
    expect(fakes.effects()).toEqual([...TO_VERIFY, ...UNDO_SCHEMA, ...UNDO_GREEN]);
    expect(result.decisions.some((d) => d.kind === "cancel")).toBe(true);
  });
});

describe("compensation retries and needs-attention", () => {
  it("a compensation that fails twice then succeeds", async () => {
    const fakes = createFakes({ verifyOk: false });
    fakes.faults.set("destroy", 2);
    const result = await withDeployment(h, fakes, input(releaseConfig()), (ctx) =>
      deploymentResult(ctx.handle),
    );
    expect(result.outcome).toBe("rolled-back");
    expect(result.compensations).toEqual([
      { name: "rollbackSchema", status: "done", attempts: 1 },
      { name: "destroyGreen", status: "done", attempts: 3 },
    ]);
    expect(fakes.effects().slice(-3)).toEqual(["destroy:v2", "destroy:v2", "destroy:v2"]);
    expect(result.reason).toMatch(/VerificationFailed|green failed verification: http \/health: 503/);
  });

  it("a finalize step that keeps failing → needs-attention after promotion, then retried: promoted", async () => {
    const fakes = createFakes();
    fakes.faults.set("destroy:v1", Infinity);
    const config = releaseConfig(
      { steps: [{ weight: 100 }], postPromotion: { watch: "500ms", keepPrevious: "1s" } },
      { compensationAttentionAfter: "2s" },
    );
    const { result, attention, refusedAbort } = await withDeployment(h, fakes, input(config), async (ctx) => {
      const attention = await ctx.until((s) => s.phase === "needs-attention", "needs-attention in finalize");
      const refusedAbort = await ctx.handle
        .executeUpdate(abortUpdate, { args: [{ by: "bob", reason: "too late" }] })
        .then(
          () => "accepted",
          (e: Error) => String((e.cause as Error | undefined)?.message ?? e.message),
        );
      fakes.faults.delete("destroy:v1");
      await ctx.handle.executeUpdate(retryCompensationUpdate, {
        args: [{ by: "ops", reason: "old stack unlocked" }],
      });
      return { result: await deploymentResult(ctx.handle), attention, refusedAbort };
    });
    expect(attention.needsAttention?.compensation).toBe("finalize:decommissionBlue");
    expect(attention.weights).toEqual({ blue: 0, green: 100 });
    expect(refusedAbort).toMatch(/past the point of no return/);
    expect(result.outcome).toBe("promoted");
    expect(result.compensations.map((c) => `${c.name}:${c.status}`)).toEqual([
      "finalize:routes:done",
      "finalize:decommissionBlue:done",
      "finalize:contractSchema:done",
    ]);
    expect(fakes.effects().slice(-2)).toEqual(["destroy:v1", "contract:002_add_sku"]);
  });

  it.each(["retry", "skip"] as const)(
    "a compensation that keeps failing → needs-attention (search attribute), then %sCompensation",
    async (action) => {
      const fakes = createFakes({ verifyOk: false }); // non-retryable: no real-time retry backoff
      fakes.faults.set("destroy", Infinity);
      // attention after 2s of failures (real time: the server does not skip while the test polls)
      const config = releaseConfig({}, { compensationAttentionAfter: "2s" });
      const { result, attention, sa, refused } = await withDeployment(
        h,
        fakes,
        input(config),
        async (ctx) => {
          const refused = await ctx.handle
            .executeUpdate(skipCompensationUpdate, { args: [{ by: "ops" }] })
            .then(
              () => "accepted",
              (e: Error) => String((e.cause as Error | undefined)?.message ?? e.message),
            );
          const attention = await ctx.until((s) => s.phase === "needs-attention", "needs-attention");
          const sa = (await ctx.handle.describe()).typedSearchAttributes.get(SA.phase);
          if (action === "retry") {
            fakes.faults.delete("destroy");
            await ctx.handle.executeUpdate(retryCompensationUpdate, {
              args: [{ by: "ops", reason: "fixed the stack lock" }],
            });
          } else {
            await ctx.handle.executeUpdate(skipCompensationUpdate, {
              args: [{ by: "ops", reason: "destroyed the stack by hand", name: "destroyGreen" }],
            });
          }
          return { result: await deploymentResult(ctx.handle), attention, sa, refused };
        },
      );
      expect(refused).toMatch(/no compensation is running|has not failed/);
      expect(sa).toBe("needs-attention");
      expect(attention.needsAttention).toEqual(
        expect.objectContaining({
          compensation: "destroyGreen",
          lastError: expect.stringMatching(/injected failure in destroy:v2/),
        }),
      );
      expect(attention.phase).toBe("needs-attention");
      expect(result.outcome).toBe("rolled-back");
      const destroy = result.compensations.find((c) => c.name === "destroyGreen")!;
      expect(destroy.status).toBe(action === "retry" ? "done" : "skipped");
      expect(destroy.attempts).toBeGreaterThanOrEqual(2); // 1s backoff, then 2s: attention after the 2nd failure
      const d = result.decisions.find((x) => x.kind === `${action}-compensation`);
      expect(d?.by).toBe("ops");
      if (action === "skip") expect(result.reason).toMatch(/skipped compensations: destroyGreen \(by ops\)/);
    },
  );
});

describe("never harm what is serving (issue 16, item 1)", () => {
  it("deploying the version already serving is refused at preflight: nothing staged, started or touched", async () => {
    const fakes = createFakes({ blueVersion: "v2" });
    const result = await withDeployment(h, fakes, input(releaseConfig()), (ctx) =>
      deploymentResult(ctx.handle),
    );
    expect(result.outcome).not.toBe("promoted");
    expect(result.reason).toMatch(/v2 is already serving shop\/production \(artifact sha256:v2\)/);
    expect(fakes.effects()).toEqual([]);
    expect(result.compensations).toEqual([]);
    expect(fakes.routes().backends).toEqual({ blue: { version: "v2", instances: ["http://blue:1"] } });
  });
});
