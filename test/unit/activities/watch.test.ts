/**
 * The watch within an interval (activities/watch.ts) on a scripted provider:
 * it trips on a critical threshold only once the window holds minRequests
 * requests, ignores provider errors, ends with the interval, and answers at
 * once when no provider can be polled.
 */
import { MockActivityEnvironment } from "@temporalio/testing";
import { describe, expect, it } from "vitest";
import { createWatchActivities, type WatchInput, type WatchResult } from "../../../activities/watch";
import type { Measurement } from "../../../lib/analysis/types";
import type { ActivityKey } from "../../../lib/deployment/types";
import type { MetricProvider } from "../../../lib/drivers/metric-provider";
import { createFakes } from "../../support/fakes";

const key = {
  deploymentId: "d1",
  service: "shop",
  environment: "production",
  version: "v2",
  target: { kind: "local" },
} as ActivityKey;

/** The fakes' target with a router provider answering `answers` in turn (the last one repeats). */
function watchWith(answers: Array<Omit<Measurement, "metric">>, watchable = true) {
  const fakes = createFakes();
  let polls = 0;
  const router: MetricProvider = {
    name: "router",
    watchable,
    async measure(q) {
      const a = answers[Math.min(polls++, answers.length - 1)]!;
      return { metric: q.metric.name, ...a };
    },
  };
  fakes.target.metrics = { router };
  return { activities: createWatchActivities(fakes.deps), polls: () => polls };
}

function input(o: Partial<WatchInput> = {}): WatchInput {
  return {
    key,
    step: 1,
    baselineVersion: "v1",
    metrics: [
      {
        name: "error-rate",
        provider: "router",
        query: "error_rate",
        judge: { kind: "threshold", max: 0.01 },
        minRequests: 3,
      },
    ],
    pollMs: 10,
    untilMs: Date.now() + 2_000,
    maxMs: 2_000,
    ...o,
  };
}

const run = (a: ReturnType<typeof watchWith>["activities"], i: WatchInput) =>
  new MockActivityEnvironment().run(a.watchCriticalMetrics, i) as Promise<WatchResult>;

describe("watching critical metrics within an interval", () => {
  it("trips once a failing window holds minRequests requests, not before", async () => {
    const w = watchWith([
      { canary: 0.5, baseline: 0.001, requests: { canary: 2, baseline: 100 } },
      { canary: 0.5, baseline: 0.001, requests: { canary: 2, baseline: 100 } },
      { canary: 0.4, baseline: 0.001, requests: { canary: 5, baseline: 100 } },
    ]);
    const r = await run(w.activities, input());
    expect(r).toMatchObject({ outcome: "tripped", metric: "error-rate" });
    expect(w.polls()).toBe(3);
  });

  it("a provider error is not a trip; a healthy interval ends quietly with the interval", async () => {
    const w = watchWith([
      { canary: null, baseline: null, error: "router stats unavailable" },
      { canary: 0.001, baseline: 0.001, requests: { canary: 50, baseline: 500 } },
    ]);
    const started = Date.now();
    const r = await run(w.activities, input({ untilMs: Date.now() + 300, maxMs: 5_000 }));
    expect(r.outcome).toBe("quiet");
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(w.polls()).toBeGreaterThan(5);
  });

  it("never runs longer than the interval, whatever the clocks say", async () => {
    const w = watchWith([{ canary: 0.001, baseline: 0.001, requests: { canary: 50, baseline: 500 } }]);
    const r = await run(w.activities, input({ untilMs: Date.now() + 3_600_000, maxMs: 200 }));
    expect(r).toMatchObject({ outcome: "quiet" });
    expect((r as { watchedMs: number }).watchedMs).toBeLessThan(1_000);
  });

  it("which metrics can be watched: those of pollable providers (asked once per run)", async () => {
    const env = new MockActivityEnvironment();
    const i = input();
    expect(await env.run(watchWith([], true).activities.watchableMetricNames, i)).toEqual(["error-rate"]);
    expect(await env.run(watchWith([], false).activities.watchableMetricNames, i)).toEqual([]);
  });

  it("a provider that cannot be polled within an interval: nothing to watch, answered at once", async () => {
    const w = watchWith([{ canary: 0.5, baseline: 0.001, requests: { canary: 50, baseline: 500 } }], false);
    expect(await run(w.activities, input())).toEqual({ outcome: "nothing-to-watch" });
    expect(w.polls()).toBe(0);
  });
});
