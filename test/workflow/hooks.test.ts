// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the config writes the literal ${env:NAME} syntax
/**
 * Hooks and gates (workflows/deployment/hooks.ts) against real HTTP
 * receivers on loopback: the workflow's requests go through the real hook
 * activity (signed POST), the receivers verify the signatures and answer
 * from a script.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { deploymentReport } from "../../client/deployment-report";
import { deploymentResult } from "../../client/deployment-result";
import { chartAssets } from "../../lib/report/assets";
import { renderReportHtml } from "../../lib/report/html";
import { abortUpdate, pauseUpdate, resumeUpdate } from "../../workflows/deployment/messages";
import {
  createHarness,
  type Harness,
  input,
  releaseConfig,
  withDeployment,
} from "../support/deployment-harness";
import { createFakes } from "../support/fakes";
import { type Receiver, startReceiver } from "../support/hook-receiver";

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h?.env.teardown();
});

const receivers: Receiver[] = [];
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.close()));
});

const SECRET = "hook-secret-for-tests";

async function receiver(answer: Parameters<typeof startReceiver>[0]): Promise<Receiver> {
  const r = await startReceiver(answer, SECRET);
  receivers.push(r);
  return r;
}

const STEPS = {
  steps: [
    { weight: 10, bake: "20s" },
    { weight: 100, bake: "20s" },
  ],
  postPromotion: { watch: "10s", keepPrevious: "1m" },
};

/** A fakes whose worker resolves ${env:HOOK_SECRET}. */
function fakesWithSecret() {
  const fakes = createFakes();
  fakes.deps.env = { HOOK_SECRET: SECRET };
  return fakes;
}

const TRAFFIC = /^(attach|weight:)/;

describe("hooks and gates", () => {
  it("a pre-rollout hook that says no stops the deployment before any traffic; post-rollout hears it", async () => {
    const pre = await receiver(() => ({ status: 500, text: "smoke test failed: /checkout 502" }));
    const post = await receiver(() => ({ status: 200 }));
    const config = releaseConfig(STEPS, {
      hooks: {
        smoke: { type: "pre-rollout", url: pre.url, secret: "${env:HOOK_SECRET}" },
        tell: { type: "post-rollout", url: post.url, secret: "${env:HOOK_SECRET}" },
      },
    });
    const fakes = fakesWithSecret();
    const { result, status } = await withDeployment(h, fakes, input(config), async (ctx) => ({
      result: await deploymentResult(ctx.handle),
      status: await ctx.status(),
    }));
    expect(result.outcome).toBe("rolled-back");
    expect(result.reason).toMatch(
      /pre-rollout hook smoke said no \(HTTP 500: smoke test failed: \/checkout 502\): stopped before any traffic/,
    );
    // Users never saw green: no attach, no weight change.
    expect(fakes.effects().filter((c) => TRAFFIC.test(c))).toEqual([]);
    expect(pre.received).toHaveLength(1);
    const [call] = pre.received;
    expect(call?.signature).toEqual({ ok: true });
    expect(call?.request).toMatchObject({
      schemaVersion: 1,
      hook: { name: "smoke", type: "pre-rollout" },
      callId: "dep-1:smoke:1",
      deployment: {
        service: "shop",
        environment: "production",
        version: "v2",
        weights: { blue: 100, green: 0 },
      },
    });
    expect(call?.callHeader).toBe("dep-1:smoke:1");
    expect(result.decisions).toContainEqual(
      expect.objectContaining({ kind: "hook", by: "hook:smoke", reason: expect.stringMatching(/said no/) }),
    );
    expect(post.received.map((r) => [r.request.outcome, r.signature?.ok])).toEqual([["rolled-back", true]]);
    expect(post.received[0]?.request.reason).toMatch(/pre-rollout hook smoke said no/);
    expect(status.hooks?.find((x) => x.name === "smoke")).toMatchObject({ state: "failed", calls: 1 });
  });

  it("confirm-promotion answers 503 then 200: traffic waits at the step before 100%, then promotes", async () => {
    const gate = await receiver((n) => (n === 0 ? { status: 503, text: "change freeze" } : { status: 200 }));
    const post = await receiver(() => ({ status: 204 }));
    const config = releaseConfig(STEPS, {
      hooks: {
        "go-live": {
          type: "confirm-promotion",
          url: gate.url,
          secret: "${env:HOOK_SECRET}",
          interval: "15s",
          timeout: "10m",
          metadata: { ticket: "CHG-42" },
        },
        tell: { type: "post-rollout", url: post.url },
      },
    });
    const fakes = fakesWithSecret();
    const { result, status, report } = await withDeployment(h, fakes, input(config), async (ctx) => ({
      result: await deploymentResult(ctx.handle),
      status: await ctx.status(),
      report: await deploymentReport(h.env.client, ctx.handle.workflowId),
    }));
    expect(result.outcome).toBe("promoted");
    expect(gate.received.map((r) => r.request.deployment.weights.green)).toEqual([10, 10]);
    // The HTML report shows every call from the history: the gate's 503 then its 200.
    expect(report.hookCalls.map((c) => [c.name, c.type, c.greenPercent, c.ok, c.answer])).toEqual([
      ["go-live", "confirm-promotion", 10, false, "HTTP 503: change freeze"],
      ["go-live", "confirm-promotion", 10, true, "HTTP 200"],
      ["tell", "post-rollout", 100, true, "HTTP 204"],
    ]);
    const html = renderReportHtml(report, chartAssets(), { generatedAtMs: 0 });
    expect(html).toContain('<section id="hooks"><h2>Hooks and gates</h2>');
    expect(html).toContain('<span class="bad">HTTP 503: change freeze</span>');
    expect(gate.received.every((r) => r.signature?.ok)).toBe(true);
    expect(gate.received.map((r) => r.request.callId)).toEqual(["dep-1:go-live:1", "dep-1:go-live:2"]);
    expect(gate.received[0]?.request.metadata).toEqual({ ticket: "CHG-42" });
    // The gate held the last step back: 100% only after its yes.
    expect(fakes.effects().filter((c) => TRAFFIC.test(c))).toEqual([
      "attach",
      "weight:0",
      "weight:10",
      "weight:100",
    ]);
    expect(status.hooks?.find((x) => x.name === "go-live")).toMatchObject({
      type: "confirm-promotion",
      state: "passed",
      calls: 2,
      onTimeout: "abort",
    });
    expect(result.decisions).toContainEqual(
      expect.objectContaining({
        kind: "hook",
        reason: expect.stringMatching(/confirm-promotion gate go-live said yes/),
      }),
    );
    // Unsigned (no secret): a receiver that does not check still gets the request.
    expect(post.received.map((r) => r.request.outcome)).toEqual(["promoted"]);
  });

  it("a confirm-rollout gate that never says yes times out and rolls back (onTimeout: abort)", async () => {
    const gate = await receiver(() => ({ status: 503, text: "not yet" }));
    const config = releaseConfig(STEPS, {
      hooks: { ticket: { type: "confirm-rollout", url: gate.url, interval: "10s", timeout: "1m" } },
    });
    const fakes = createFakes();
    const result = await withDeployment(h, fakes, input(config), (ctx) => deploymentResult(ctx.handle));
    expect(result.outcome).toBe("rolled-back");
    expect(result.reason).toMatch(
      /confirm-rollout gate ticket did not say yes within 1m \(\d+ calls, last: HTTP 503: not yet\); onTimeout: abort/,
    );
    expect(gate.received.length).toBeGreaterThanOrEqual(6);
    expect(gate.received.length).toBeLessThanOrEqual(8);
    expect(fakes.effects().filter((c) => TRAFFIC.test(c))).toEqual([]);
  });

  it("a confirm-rollout gate that times out with onTimeout: pause pauses; a resume goes on", async () => {
    const gate = await receiver(() => ({ status: 403, text: "nobody confirmed" }));
    const config = releaseConfig(STEPS, {
      hooks: {
        confirm: {
          type: "confirm-rollout",
          url: gate.url,
          interval: "300ms",
          timeout: "1s",
          onTimeout: "pause",
        },
      },
    });
    const fakes = createFakes();
    const { result, paused } = await withDeployment(h, fakes, input(config), async (ctx) => {
      const paused = await ctx.until((s) => s.phase === "paused", "paused by the gate");
      await ctx.handle.executeUpdate(resumeUpdate, { args: [{ by: "carol", reason: "confirmed by phone" }] });
      return { result: await deploymentResult(ctx.handle), paused };
    });
    expect(paused.paused).toMatchObject({ by: "hook:confirm" });
    expect(paused.paused?.reason).toMatch(/confirm-rollout gate confirm did not say yes within 1s/);
    expect(paused.weights).toEqual({ blue: 100, green: 0 });
    expect(paused.hooks?.[0]).toMatchObject({ name: "confirm", state: "timed-out", onTimeout: "pause" });
    expect(result.outcome).toBe("promoted");
    expect(result.decisions).toContainEqual(
      expect.objectContaining({ kind: "resume", by: "carol", reason: "confirmed by phone" }),
    );
  });

  it("an abort while a gate waits rolls back; the gate is no longer waiting", async () => {
    const gate = await receiver(() => ({ status: 503, text: "not yet" }));
    const config = releaseConfig(STEPS, {
      hooks: { ticket: { type: "confirm-rollout", url: gate.url, interval: "200ms", timeout: "2m" } },
    });
    const fakes = createFakes();
    const { result, status } = await withDeployment(h, fakes, input(config), async (ctx) => {
      await ctx.until(
        (s) => s.phase === "awaiting-approval" && (s.hooks?.[0]?.calls ?? 0) >= 2,
        "gate polled",
      );
      await ctx.handle.executeUpdate(abortUpdate, { args: [{ by: "bob", reason: "wrong build" }] });
      return { result: await deploymentResult(ctx.handle), status: await ctx.status() };
    });
    expect(result.outcome).toBe("rolled-back");
    expect(result.reason).toBe("aborted by bob: wrong build");
    expect(status.hooks?.[0]).toMatchObject({
      name: "ticket",
      state: "failed",
      lastAnswer: "HTTP 503: not yet",
    });
    expect(fakes.effects().filter((c) => TRAFFIC.test(c))).toEqual([]);
  });

  it("a pause asked for while a gate waits holds after the gate's yes, before any traffic", async () => {
    let confirmed = false;
    const gate = await receiver(() => (confirmed ? { status: 200 } : { status: 503 }));
    const config = releaseConfig(STEPS, {
      hooks: { ticket: { type: "confirm-rollout", url: gate.url, interval: "200ms", timeout: "2m" } },
    });
    const fakes = createFakes();
    const { result, paused } = await withDeployment(h, fakes, input(config), async (ctx) => {
      await ctx.until(
        (s) => s.phase === "awaiting-approval" && (s.hooks?.[0]?.calls ?? 0) >= 1,
        "gate polled",
      );
      await ctx.handle.executeUpdate(pauseUpdate, { args: [{ by: "carol", reason: "incident elsewhere" }] });
      confirmed = true;
      const paused = await ctx.until((s) => s.phase === "paused", "paused after the gate");
      await ctx.handle.executeUpdate(resumeUpdate, { args: [{ by: "carol", reason: "clear" }] });
      return { paused, result: await deploymentResult(ctx.handle) };
    });
    expect(paused.hooks?.[0]?.state).toBe("passed");
    expect(paused.weights).toEqual({ blue: 100, green: 0 });
    expect(paused.step.index).toBe(0);
    expect(result.outcome).toBe("promoted");
  });

  it("rollout hooks are called every analysis interval of every traffic step; a no is recorded, not a rollback", async () => {
    const load = await receiver(() => ({ status: 500, text: "load generator busy" }));
    const config = releaseConfig(STEPS, { hooks: { load: { type: "rollout", url: load.url } } });
    const fakes = createFakes();
    const { result, status } = await withDeployment(h, fakes, input(config), async (ctx) => ({
      result: await deploymentResult(ctx.handle),
      status: await ctx.status(),
    }));
    expect(result.outcome).toBe("promoted");
    // 20 s bakes at a 10 s interval: two intervals per step; the post-promotion watch calls none.
    expect(load.received.map((r) => r.request.deployment.weights.green)).toEqual([10, 10, 100, 100]);
    expect(status.hooks?.[0]).toMatchObject({ name: "load", state: "failed", calls: 4 });
    expect(status.hooks?.[0]?.lastAnswer).toBe("HTTP 500: load generator busy");
  });

  it("without an analysis section, rollout hooks are called once as each traffic step starts", async () => {
    const load = await receiver(() => ({ status: 200 }));
    const config = releaseConfig(
      { ...STEPS, analysis: undefined },
      { hooks: { load: { type: "rollout", url: load.url } } },
    );
    const fakes = createFakes();
    const result = await withDeployment(h, fakes, input(config), (ctx) => deploymentResult(ctx.handle));
    expect(result.outcome).toBe("promoted");
    expect(load.received.map((r) => r.request.deployment.weights.green)).toEqual([10, 100]);
  });

  it("a rollback hook that says yes rolls back, traffic first", async () => {
    const kill = await receiver((n) => (n < 1 ? { status: 404 } : { status: 200, text: "incident INC-7" }));
    const config = releaseConfig(STEPS, { hooks: { "kill-switch": { type: "rollback", url: kill.url } } });
    const fakes = createFakes();
    const result = await withDeployment(h, fakes, input(config), (ctx) => deploymentResult(ctx.handle));
    expect(result.outcome).toBe("rolled-back");
    expect(result.reason).toMatch(
      /rollback hook kill-switch asked to roll back \(HTTP 200: incident INC-7\)/,
    );
    expect(kill.received.map((r) => r.request.deployment.weights.green)).toEqual([10, 10]);
    // Asked at the start of every interval: yes at the second, so the 100% step never came.
    expect(fakes.effects().filter((c) => TRAFFIC.test(c))).toEqual([
      "attach",
      "weight:0",
      "weight:10",
      "weight:0",
    ]);
    expect(result.compensations.map((c) => c.name)[0]).toBe("restoreTraffic");
  });
});
