// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the literal ${env:NAME} syntax
/**
 * Notifications from a real deployment workflow (time-skipping server, fake
 * drivers) to a real HTTP receiver on loopback: delivered in order, signed,
 * retried with the same idempotency key, and never in the way of a rollback.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { deploymentResult } from "../../client/deployment-result";
import { startDeployment } from "../../client/start";
import { NotificationSchema } from "../../lib/notifications/payload";
import { SIGNATURE_HEADER, verifySignature } from "../../lib/notifications/signature";
import { abortUpdate, pauseUpdate, resumeUpdate } from "../../workflows/deployment/messages";
import {
  createHarness,
  type DeploymentHandle,
  type Harness,
  input,
  releaseConfig,
  withDeployment,
} from "../support/deployment-harness";
import { createFakes, type FakeOptions, type Fakes } from "../support/fakes";
import { type Receiver, startReceiver } from "../support/notification-receiver";

const SECRET = "webhook-secret-for-tests";

let h: Harness;
let receiver: Receiver;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h?.env.teardown();
});
beforeEach(async () => {
  receiver = await startReceiver();
});
afterEach(async () => {
  await receiver.close();
});

/** Fakes whose worker has the webhook secret in its environment. */
function fakesWithSecret(options: FakeOptions = {}): Fakes {
  const fakes = createFakes(options);
  return { ...fakes, deps: { ...fakes.deps, env: { HOOK_SECRET: SECRET } } };
}

function webhook(timeout = "1s", events?: string[]) {
  return {
    notifications: [
      {
        type: "webhook",
        url: receiver.url,
        secret: "${env:HOOK_SECRET}",
        timeout,
        ...(events ? { events } : {}),
      },
    ],
  };
}

/** Every 2xx-answered request: signature checked, payload parsed with the published schema. */
function acceptedPayloads() {
  return receiver.received
    .filter((r) => r.answered === 200)
    .map((r) => {
      const check = verifySignature(SECRET, r.body, r.headers[SIGNATURE_HEADER.toLowerCase()] as string);
      expect(check, r.body).toMatchObject({ ok: true });
      return NotificationSchema.parse(JSON.parse(r.body));
    });
}

describe("notifications from a deployment", () => {
  it("a receiver that fails at first gets every event, once accepted each, in order, signed; retries keep the id", async () => {
    // The first three requests fail (503): Temporal retries the same event until it is accepted.
    receiver.behave((i) => (i < 3 ? { kind: "answer", status: 503 } : { kind: "answer", status: 200 }));
    const fakes = fakesWithSecret();
    const config = releaseConfig({ steps: [{ weight: 50 }, { weight: 100 }] }, webhook());
    const result = await withDeployment(h, fakes, input(config), (ctx) => deploymentResult(ctx.handle));
    expect(result.outcome).toBe("promoted");

    const got = acceptedPayloads();
    expect(got.map((p) => p.sequence)).toEqual(got.map((_, i) => i + 1));
    expect(got.map((p) => p.id)).toEqual(got.map((p) => `dep-1:${p.sequence}`));
    const events = got.map((p) => p.event);
    expect(events[0]).toBe("started");
    expect(events.slice(-2)).toEqual(["promoted", "finished"]);
    expect(events.filter((e) => e === "step-reached")).toHaveLength(2);
    expect(events).toContain("analysis-verdict");
    expect(got.find((p) => p.event === "step-reached")?.details.step).toEqual({
      index: 1,
      total: 2,
      weight: 50,
    });
    expect(got.at(-1)?.details.outcome).toBe("promoted");
    // The failed attempts were for event 1, sent again with the same id.
    const failed = receiver.received.filter((r) => r.answered === 503).map((r) => JSON.parse(r.body).id);
    expect(failed).toEqual(["dep-1:1", "dep-1:1", "dep-1:1"]);
  });

  it("a receiver that hangs cannot hold up a rollback; once it recovers it gets the events in order", async () => {
    receiver.behave({ kind: "hang" });
    const fakes = fakesWithSecret();
    const config = releaseConfig(
      { steps: [{ weight: 10 }, { approval: "go-live" }, { weight: 100 }] },
      webhook("1s"),
    );
    await withDeployment(
      h,
      fakes,
      input(config),
      async (ctx) => {
        await ctx.until((s) => s.pendingApprovals.length > 0, "the gate waits, 10% on green");
        await ctx.waitUntil(
          () => receiver.received.length > 0,
          "a notification reaches the receiver (and hangs)",
        );
        await ctx.handle.executeUpdate(abortUpdate, { args: [{ by: "bob", reason: "errors in the logs" }] });
        // The rollback completes — traffic back on blue, green destroyed — while the receiver has not answered once.
        const ended = await ctx.until((s) => s.outcome === "rolled-back", "rolled back");
        expect(fakes.effects().slice(-4)).toEqual([
          "weight:0",
          "backends:v1",
          "rollbackSchema:002_add_sku",
          "destroy:v2",
        ]);
        expect(ended.compensations.every((c) => c.status === "done")).toBe(true);
        expect(receiver.received.length).toBeGreaterThan(0);
        expect(receiver.received.every((r) => r.answered === "hung")).toBe(true);

        // A deploy meanwhile waits for this run to close (client/start.ts): the CLI integration
        // test covers it in real time (test/integration/cli/notifications-cli.test.ts).

        // The receiver recovers: the events still arrive, in order, and the run ends after the last one.
        receiver.behave({ kind: "answer", status: 200 });
        await ctx.waitUntil(
          () => acceptedPayloads().some((p) => p.event === "finished"),
          "every event delivered",
        );
        const result = await deploymentResult(ctx.handle);
        expect(result.outcome).toBe("rolled-back");
      },
      async (client, tq) => {
        return (await startDeployment(client, input(config), { taskQueue: tq })) as DeploymentHandle;
      },
    );
    const got = acceptedPayloads();
    expect(got.map((p) => p.sequence)).toEqual(got.map((_, i) => i + 1));
    const events = got.map((p) => p.event);
    expect(events[0]).toBe("started");
    expect(events).toContain("approval-requested");
    expect(events.slice(-2)).toEqual(["rolled-back", "finished"]);
    const gate = got.find((p) => p.event === "approval-requested");
    expect(gate?.commands.approve).toBe('shipshape approve shop/production --gate go-live --reason "why"');
    expect(gate?.commands.abort).toBe('shipshape abort shop/production --reason "why"');
    const rolledBack = got.find((p) => p.event === "rolled-back");
    expect(rolledBack?.details.reason).toMatch(/aborted by bob: errors in the logs/);
    expect(rolledBack?.deployment.weights).toEqual({ blue: 100, green: 0 });
    expect(rolledBack?.commands.abort).toBeUndefined();
    // Every event sent to the receiver while it hung was the first one, sent again (same id).
    const hung = receiver.received.filter((r) => r.answered === "hung").map((r) => JSON.parse(r.body).id);
    expect(new Set(hung)).toEqual(new Set(["dep-1:1"]));
  });
});

describe("what the events say", () => {
  it("pause and resume name who; an analysis failure's verdict table and tripping metric reach the receiver", async () => {
    const fakes = fakesWithSecret({ errorRate: (w) => (w === 50 ? 0.2 : 0.001) });
    const result = await withDeployment(h, fakes, input(releaseConfig({}, webhook())), async (ctx) => {
      await ctx.until((s) => s.step.index === 1, "step 1");
      await ctx.handle.executeUpdate(pauseUpdate, { args: [{ by: "carol", reason: "checking dashboards" }] });
      await ctx.until((s) => s.phase === "paused", "paused");
      await ctx.handle.executeUpdate(resumeUpdate, { args: [{ by: "carol", reason: "all fine" }] });
      return deploymentResult(ctx.handle);
    });
    expect(result.outcome).toBe("rolled-back");
    const got = acceptedPayloads();
    expect(got.map((p) => p.sequence)).toEqual(got.map((_, i) => i + 1));
    const paused = got.find((p) => p.event === "paused");
    expect(paused?.details).toEqual({ by: "carol", reason: "checking dashboards" });
    expect(paused?.commands.resume).toBe("shipshape resume shop/production");
    expect(got.find((p) => p.event === "resumed")?.details).toEqual({ by: "carol", reason: "all fine" });
    const failed = got.find((p) => p.event === "analysis-verdict" && p.details.decision === "fail");
    expect(failed?.details.step).toEqual({ index: 2, total: 3, weight: 50 });
    expect(failed?.details.verdicts).toEqual([
      expect.objectContaining({ metric: "error-rate", verdict: "fail", value: 0.2, threshold: "max 1%" }),
    ]);
    const rolledBack = got.find((p) => p.event === "rolled-back");
    expect(rolledBack?.details.reason).toMatch(
      /analysis failed: error-rate 20(\.0)?% > max 1% at 50% traffic/,
    );
    expect(rolledBack?.details.trippingMetric).toMatchObject({
      metric: "error-rate",
      value: 0.2,
      threshold: "max 1%",
    });
    expect(got.at(-1)?.details).toMatchObject({ outcome: "rolled-back" });
    expect(got.map((p) => p.event).indexOf("paused")).toBeLessThan(
      got.map((p) => p.event).indexOf("resumed"),
    );
  });
});

describe("notifications across continue-as-new", () => {
  it("a long bake that continues as new keeps one sequence: every event once (by id), in order, none lost", async () => {
    const fakes = fakesWithSecret();
    // 70 min at a 10 s interval: past 4,000 history events, so the run continues as new.
    const config = releaseConfig(
      {
        steps: [
          { weight: 50, bake: "70m" },
          { weight: 100, bake: "10s" },
        ],
        postPromotion: { watch: "10s", keepPrevious: "1m" },
      },
      webhook(),
    );
    const runs = await withDeployment(h, fakes, input(config), async (ctx) => {
      const result = await deploymentResult(ctx.handle);
      expect(result.outcome).toBe("promoted");
      return (await ctx.status()).chain?.runs ?? 1;
    });
    expect(runs).toBeGreaterThanOrEqual(2);
    const got = acceptedPayloads();
    // At-least-once: an event in flight when the run continued may arrive twice, with the same id and body.
    const byId = new Map<string, string>();
    for (const p of got) {
      const seen = byId.get(p.id);
      if (seen) expect(JSON.stringify(p)).toBe(seen);
      byId.set(p.id, JSON.stringify(p));
    }
    const unique = [...byId.values()].map((b) => JSON.parse(b) as (typeof got)[number]);
    expect(unique.map((p) => p.sequence)).toEqual(unique.map((_, i) => i + 1));
    expect(unique.filter((p) => p.event === "started")).toHaveLength(1);
    expect(unique.filter((p) => p.event === "analysis-verdict").length).toBeGreaterThan(400);
    expect(unique.at(-1)?.event).toBe("finished");
    // Arrival order is sequence order (a repeat only ever re-sends the last one in flight).
    const firstArrival = got.filter((p, i) => got.findIndex((q) => q.id === p.id) === i);
    expect(firstArrival.map((p) => p.sequence)).toEqual(unique.map((p) => p.sequence));
  }, 240_000);
});
