import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deploymentResult } from "../../client/deployment-result";
import { DeploymentAlreadyRunningError, startDeployment } from "../../client/start";
import {
  abortUpdate,
  approveUpdate,
  pauseUpdate,
  promoteUpdate,
  rejectUpdate,
  resumeUpdate,
} from "../../workflows/deployment/messages";
import {
  createHarness,
  type DeploymentHandle,
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

/** The update's refusal message (validator error), or "accepted". */
async function attempt(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => "accepted",
    (e: Error) => String((e.cause as Error | undefined)?.message ?? e.message),
  );
}

const GATED = releaseConfig({
  steps: [{ weight: 10 }, { approval: "go-live" }, { weight: 100 }],
  postPromotion: { watch: "10s", keepPrevious: "1m" },
});
const UNDO = ["weight:0", "backends:v1", "rollbackSchema:002_add_sku", "destroy:v2"];

describe("approvals", () => {
  it.each<{
    name: string;
    actions: Array<["approve" | "reject", string, string]>;
    outcome: string;
    refusals: RegExp[];
  }>([
    {
      name: "granted by an approver",
      actions: [["approve", "bob", "looks good"]],
      outcome: "promoted",
      refusals: [],
    },
    {
      name: "rejected by an approver",
      actions: [["reject", "bob", "error budget spent"]],
      outcome: "rolled-back",
      refusals: [],
    },
    {
      name: "a non-approver is refused, then an approver grants",
      actions: [
        ["approve", "mallory", "me too"],
        ["approve", "bob", "ok"],
      ],
      outcome: "promoted",
      refusals: [/mallory is not an approver for production \(approvers: alice, bob\)/],
    },
    {
      name: "self-approval is refused (allowSelfApproval: false), then another approver grants",
      actions: [
        ["approve", "alice", "mine"],
        ["approve", "bob", "ok"],
      ],
      outcome: "promoted",
      refusals: [/alice started this deployment and production does not allow self-approval/],
    },
  ])("$name", async ({ actions, outcome, refusals }) => {
    const fakes = createFakes();
    const { result, answers, pending } = await withDeployment(h, fakes, input(GATED), async (ctx) => {
      const s = await ctx.until((x) => x.phase === "awaiting-approval", "gate");
      const answers: string[] = [];
      answers.push(
        await attempt(
          ctx.handle.executeUpdate(approveUpdate, { args: [{ gate: "other", by: "bob", reason: "" }] }),
        ),
      );
      for (const [kind, by, reason] of actions) {
        const update = kind === "approve" ? approveUpdate : rejectUpdate;
        answers.push(
          await attempt(ctx.handle.executeUpdate(update, { args: [{ gate: "go-live", by, reason }] })),
        );
      }
      return { result: await deploymentResult(ctx.handle), answers, pending: s.pendingApprovals };
    });
    expect(pending).toEqual([
      expect.objectContaining({ gate: "go-live", approvers: ["alice", "bob"], allowSelfApproval: false }),
    ]);
    expect(answers[0]).toMatch(/gate "other" is not waiting; the pending gate is "go-live"/);
    const refused = answers.slice(1).filter((a) => a !== "accepted");
    expect(refused).toHaveLength(refusals.length);
    for (const [i, r] of refusals.entries()) expect(refused[i]).toMatch(r);
    expect(result.outcome).toBe(outcome);
    const [kind, by, reason] = actions.at(-1)!;
    expect(result.decisions).toContainEqual(
      expect.objectContaining({ kind, by, reason: `go-live: ${reason}` }),
    );
    if (outcome === "rolled-back") {
      expect(result.reason).toBe(`gate go-live rejected by ${by}: ${reason}`);
      expect(fakes.effects().slice(-4)).toEqual(UNDO);
    } else {
      expect(fakes.effects()).toContain("weight:100");
    }
  });

  it("timed out: rolls back as an abort (onTimeout: abort) and records it", async () => {
    const fakes = createFakes();
    const result = await withDeployment(h, fakes, input(GATED), (ctx) => deploymentResult(ctx.handle));
    expect(result.outcome).toBe("rolled-back");
    expect(result.reason).toMatch(/approval gate go-live timed out after 10 min/);
    expect(result.decisions).toContainEqual(
      expect.objectContaining({ kind: "approval-timeout", by: "shipshape" }),
    );
    expect(fakes.effects()).not.toContain("weight:100");
    expect(fakes.effects().slice(-4)).toEqual(UNDO);
  });
});

describe("pause, resume, promote", () => {
  it("pause holds before the next step; resume continues; both recorded", async () => {
    const fakes = createFakes();
    const release = fakes.hold("expand");
    const config = releaseConfig({
      steps: [{ weight: 10 }, { weight: 100 }],
      postPromotion: { watch: "10s", keepPrevious: "1m" },
    });
    const { result, paused, answers } = await withDeployment(h, fakes, input(config), async (ctx) => {
      await ctx.waitUntil(() => fakes.calls.includes("expand"), "expand running");
      const answers = [
        await attempt(
          ctx.handle.executeUpdate(pauseUpdate, { args: [{ by: "carol", reason: "checking dashboards" }] }),
        ),
        await attempt(ctx.handle.executeUpdate(pauseUpdate, { args: [{ by: "dave" }] })),
        await attempt(
          ctx.handle.executeUpdate(approveUpdate, { args: [{ gate: "x", by: "bob", reason: "" }] }),
        ),
        await attempt(ctx.handle.executeUpdate(promoteUpdate, { args: [{ by: "bob", reason: "" }] })),
      ];
      release();
      const paused = await ctx.until((s) => s.phase === "paused", "paused");
      const effectsWhilePaused = fakes.effects();
      answers.push(
        await attempt(
          ctx.handle.executeUpdate(resumeUpdate, { args: [{ by: "carol", reason: "all green" }] }),
        ),
      );
      answers.push(await attempt(ctx.handle.executeUpdate(resumeUpdate, { args: [{ by: "carol" }] })));
      return {
        result: await deploymentResult(ctx.handle),
        paused: { ...paused, effectsWhilePaused },
        answers,
      };
    });
    expect(answers[0]).toBe("accepted");
    expect(answers[1]).toMatch(/already paused by carol \(checking dashboards\)/);
    expect(answers[2]).toMatch(
      /nothing is waiting for approval; the deployment is expanding-schema, before traffic \(2 steps planned\)/,
    );
    expect(answers[3]).toMatch(/paused.*resume it first/);
    expect(answers[4]).toBe("accepted");
    expect(answers[5]).toMatch(/the deployment is not paused/);
    expect(paused.weights).toEqual({ blue: 100, green: 0 });
    expect(paused.effectsWhilePaused).toEqual([
      "artifact:shop-v2.tgz",
      "provision:v2",
      "expand",
      "verify:http /health",
    ]);
    expect(result.outcome).toBe("promoted");
    expect(result.decisions.filter((d) => d.kind === "pause" || d.kind === "resume")).toEqual([
      expect.objectContaining({ kind: "pause", by: "carol", reason: "checking dashboards" }),
      expect.objectContaining({ kind: "resume", by: "carol", reason: "all green" }),
    ]);
  });

  const LONG = releaseConfig({
    steps: [
      { weight: 10, bake: "1h" },
      { weight: 50, bake: "1h" },
      { weight: 100, bake: "1h" },
    ],
    postPromotion: { watch: "10s", keepPrevious: "1m" },
  });

  it("promote skips the remaining bake time but still analyses every step", async () => {
    const fakes = createFakes();
    const { result, status } = await withDeployment(h, fakes, input(LONG), async (ctx) => {
      await ctx.until((s) => s.step.index === 1 && s.analysis.verdicts.length === 0, "step 1");
      const a = await ctx.handle.executeUpdate(promoteUpdate, { args: [{ by: "bob", reason: "hotfix" }] });
      expect(a.message).toMatch(/promote requested by bob/);
      return { result: await deploymentResult(ctx.handle), status: await ctx.status() };
    });
    expect(result.outcome).toBe("promoted");
    const traffic = status.phases.find((p) => p.phase === "shifting-traffic")!;
    expect(traffic.durationMs).toBeLessThan(3600_000);
    for (const w of [10, 50, 100]) expect(fakes.calls).toContain(`measure:error-rate@${w}`);
    expect(result.decisions).toContainEqual(
      expect.objectContaining({ kind: "promote", by: "bob", reason: "hotfix" }),
    );
  });

  it("promote never overrides a failed analysis", async () => {
    const fakes = createFakes({ errorRate: (w) => (w === 50 ? 0.2 : 0.001) });
    const result = await withDeployment(h, fakes, input(LONG), async (ctx) => {
      await ctx.until((s) => s.step.index === 1, "step 1");
      await ctx.handle.executeUpdate(promoteUpdate, { args: [{ by: "bob", reason: "hotfix" }] });
      return deploymentResult(ctx.handle);
    });
    expect(result.outcome).toBe("rolled-back");
    expect(result.reason).toMatch(/analysis failed: error-rate .* at 50% traffic/);
    expect(fakes.effects()).not.toContain("weight:100");
  });
});

describe("one deployment per service and environment", () => {
  it("a second start fails naming the running deployment; after it closes the ID is reusable", async () => {
    const fakes = createFakes();
    const release = fakes.hold("provision");
    const config = releaseConfig({
      steps: [{ weight: 100 }],
      postPromotion: { watch: "10s", keepPrevious: "10s" },
    });
    let taskQueue = "";
    const { error, first, secondResult } = await withDeployment(
      h,
      fakes,
      input(config),
      async (ctx) => {
        await ctx.waitUntil(() => fakes.calls.includes("provision:v2"), "provision running");
        const error = await startDeployment(
          h.env.client,
          input(config, { version: "v3", deploymentId: undefined }),
          {
            taskQueue,
          },
        ).then(
          () => null,
          (e: unknown) => e,
        );
        await ctx.handle.executeUpdate(abortUpdate, { args: [{ by: "bob", reason: "superseded by v3" }] });
        release();
        const first = await deploymentResult(ctx.handle);
        const second = await startDeployment(
          h.env.client,
          input(config, { version: "v3", deploymentId: undefined }),
          {
            taskQueue,
          },
        );
        return { error, first, secondResult: await deploymentResult(second) };
      },
      async (client, tq) => {
        taskQueue = tq;
        return (await startDeployment(client, input(config), { taskQueue: tq })) as DeploymentHandle;
      },
    );
    expect(error).toBeInstanceOf(DeploymentAlreadyRunningError);
    const e = error as DeploymentAlreadyRunningError;
    expect(e.workflowId).toBe("shipshape:shop:production");
    expect(e.runId).toMatch(/[0-9a-f-]{36}/);
    expect(e.message).toMatch(
      /cannot deploy shop v3 to production: deployment shipshape:shop:production run [0-9a-f-]{36} is still running — version v2 \(provisioning-green, step 0\/1, started by alice\)/,
    );
    expect(first.outcome).toBe("rolled-back");
    expect(secondResult.outcome).toBe("promoted");
  });
});
