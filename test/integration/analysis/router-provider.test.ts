/**
 * The router provider against a REAL local router (infra/local/router,
 * startRouter: HAProxy and its control process) proxying real loopback
 * backends, read through its admin API (RouterClient), judged by lib/analysis.
 *
 *   blue  v1   healthy, 100 ms
 *   green v2   every 20th request answers 500 (exactly 5% errors)
 *   green v3   +200 ms latency (300 ms)
 *   green v4   healthy, 100 ms, but little traffic
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRouterProvider } from "../../../activities/metrics/router-provider";
import { RouterClient } from "../../../infra/local/router/client";
import { initialAnalysisState, judgeAll, recordInterval } from "../../../lib/analysis";
import type { Decision } from "../../../lib/analysis/types";
import type { MetricProvider } from "../../../lib/drivers/metric-provider";
import {
  hammer,
  killAllBackends,
  removeDir,
  startBackend,
  startTestRouter,
  type TestBackend,
  type TestRouter,
  TOKEN,
} from "../../unit/infra/local/router/helpers";
import { judge, request, spec } from "./helpers";

let router: TestRouter;
let blue: TestBackend;
let provider: MetricProvider;

const errorRate = spec({
  name: "error-rate",
  provider: "router",
  query: "error_rate",
  minRequests: 50,
  critical: true,
  judge: { kind: "threshold", max: 0.01 },
});
const p95 = spec({
  name: "p95-latency",
  provider: "router",
  query: "latency_p95_ms",
  minRequests: 50,
  judge: { kind: "maxIncrease", fraction: 0.2 },
});

/**
 * `total` user requests all to one backend (weights 100/0), then the 80/20 split
 * back. Not the override header: tester traffic is kept out of the statistics.
 */
async function onlyTo(backend: "blue" | "green", total: number) {
  await router.update({ weights: backend === "green" ? { blue: 0, green: 100 } : { blue: 100, green: 0 } });
  await hammer(router.url, total, 5);
  await router.update({ weights: { blue: 80, green: 20 } });
}

/** Puts `backend` behind green at 20% and drives `total` requests through the proxy. */
async function canary(version: string, backend: TestBackend, total: number) {
  await router.update({
    backends: { green: { version, instances: [backend.url], weight: 20 } },
  });
  const replies = await hammer(router.url, total, 20);
  return replies;
}

const measure = (s: ReturnType<typeof spec>, canaryVersion: string) =>
  provider.measure(request(s, { canaryVersion, baselineVersion: "v1", windowSeconds: 60 }));

beforeAll(async () => {
  blue = await startBackend("blue", { delayMs: 100 });
  router = await startTestRouter({
    initialTable: {
      version: 1,
      updatedAt: new Date().toISOString(),
      sticky: false,
      backends: { blue: { version: "v1", instances: [blue.url], weight: 80 } },
    },
  });
  provider = createRouterProvider({ router: new RouterClient({ adminUrl: router.adminUrl, token: TOKEN }) });
}, 30_000);

afterAll(async () => {
  await router?.close();
  await killAllBackends();
  if (router) await removeDir(router.dir);
});

describe("router provider on a real router", () => {
  it("5% errors on green fail a `max: 1%` judge; blue is the clean baseline", async () => {
    const green = await startBackend("green-v2", { delayMs: 100, status: (n) => (n % 20 === 0 ? 500 : 200) });
    const replies = await canary("v2", green, 500);
    const greenReplies = replies.filter((r) => r.backend === "green").length;
    const m = await measure(errorRate, "v2");
    expect(m.error).toBeUndefined();
    // the router counted exactly what the proxy served, and green fails every 20th request
    expect(m.requests?.canary).toBe(greenReplies);
    expect(m.canary).toBeCloseTo(Math.floor(green.hits / 20) / green.hits, 10);
    expect(m.canary).toBeGreaterThan(0.04);
    expect(m.baseline).toBe(0);
    expect(m.requests?.baseline).toBeGreaterThanOrEqual(300);

    const r = judge(errorRate, m);
    expect(r.verdict).toBe("fail");
    expect(r.reason).toMatch(/^error-rate \d(\.\d+)?% > max 1%/);

    // critical: the aggregation fails the step at once, at 20% traffic
    const step = recordInterval(initialAnalysisState(), [r], {
      stepIndex: 1,
      weightPercent: 20,
      atMs: Date.now(),
    });
    expect(step.decision).toBe("fail");
    expect(step.verdict.line).toMatch(/^error-rate .* > max 1% at 20% traffic/);
  });

  it("+200 ms latency on green fails `maxIncrease: 20%` on p95", async () => {
    const green = await startBackend("green-v3", { delayMs: 300 });
    await canary("v3", green, 400);
    const m = await measure(p95, "v3");
    expect(m.error).toBeUndefined();
    expect(m.canary).toBeGreaterThanOrEqual(290);
    expect(m.baseline).toBeGreaterThanOrEqual(95);
    expect(m.baseline).toBeLessThan(200);
    const r = judge(p95, m);
    expect(r.verdict).toBe("fail");
    expect(r.reason).toMatch(/^p95-latency .*max \+20%/);
    // the same traffic passes the error-rate judge: the relative judge is what catches it
    expect(judge(errorRate, await measure(errorRate, "v3")).verdict).toBe("pass");
  });

  it("little traffic is inconclusive, not failed; repeated, it pauses (inconclusiveLimit) instead of rolling back", async () => {
    const green = await startBackend("green-v4", { delayMs: 100 });
    await router.update({ backends: { green: { version: "v4", instances: [green.url], weight: 20 } } });
    // a trickle: 10 requests to green, 10 to blue
    await onlyTo("green", 10);
    await onlyTo("blue", 10);
    let state = initialAnalysisState({ inconclusiveLimit: 2 });
    const decisions: Decision[] = [];
    for (let i = 0; i < 3; i++) {
      const ms = await Promise.all([measure(errorRate, "v4"), measure(p95, "v4")]);
      expect(ms[0]?.requests?.canary).toBe(10);
      const results = judgeAll([errorRate, p95], ms);
      for (const r of results) {
        expect(r.verdict).toBe("inconclusive");
        expect(r.noData).toBe(true);
        expect(r.reason).toMatch(/canary served 10 requests < minRequests 50/);
      }
      const step = recordInterval(state, results, { stepIndex: 0, weightPercent: 20, atMs: Date.now() });
      state = step.state;
      decisions.push(step.decision);
    }
    expect(decisions).toEqual(["continue", "continue", "pause"]);
    expect(state.status).toBe("paused");
    expect(state.decisions.some((d) => d.decision === "fail")).toBe(false);
  });

  it("just after green switched version, the old version's numbers are not used: no data until traffic arrives", async () => {
    const green = await startBackend("green-v5", { delayMs: 100 });
    await router.update({ backends: { green: { version: "v5", instances: [green.url], weight: 20 } } });
    const before = await measure(errorRate, "v5");
    expect(before.error).toBeUndefined();
    expect(before.canary).toBeNull();
    expect(before.requests?.canary).toBe(0);
    expect(judge(errorRate, before).verdict).toBe("inconclusive");
    await onlyTo("green", 5);
    expect((await measure(errorRate, "v5")).requests?.canary).toBe(5);
  });

  it("a router that is down is a provider error", async () => {
    const down = createRouterProvider({
      router: new RouterClient({ adminUrl: "http://127.0.0.1:1", token: TOKEN, timeoutMs: 1000 }),
    });
    const m = await down.measure(request(errorRate, { canaryVersion: "v4" }));
    expect(m.error).toMatch(/^router stats unavailable: router admin GET \/admin\/stats\?window=10 failed/);
    expect(judge(errorRate, m).verdict).toBe("error");
  });
});
