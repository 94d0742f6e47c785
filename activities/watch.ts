import { Context } from "@temporalio/activity";
import { judgeMetric } from "../lib/analysis/judges";
import type { Judge, MetricSpec } from "../lib/analysis/types";
import { ActivityKey } from "../lib/deployment/types";
import type { MetricProviders, MetricRequestSpec } from "../lib/drivers/metric-provider";
import { type DeploymentDeps, targetOf } from "./deployment-deps";
import { measureAll } from "./metrics/registry";

/** A critical metric judged by a threshold: the one kind of metric a single bad window fails outright. */
export type WatchedMetric = MetricRequestSpec & {
  provider: string;
  judge: Extract<Judge, { kind: "threshold" }>;
  minRequests?: number;
};

export interface WatchInput {
  key: ActivityKey;
  step: number;
  baselineVersion: string | null;
  metrics: WatchedMetric[];
  /** How often to look (ms). */
  pollMs: number;
  /** When the interval ends (workflow time, ms since the epoch): the watch returns then, with its timer. */
  untilMs: number;
  /** The interval's length: the watch never runs longer, whatever the clocks say. */
  maxMs: number;
}

export type WatchResult =
  /** No watched metric's provider can be polled within an interval (e.g. CloudWatch, fakes): don't ask again. */
  | { outcome: "nothing-to-watch" }
  /** The interval ended without a failure. */
  | { outcome: "quiet"; watchedMs: number }
  /** `metric` failed its threshold with at least minRequests behind it, `watchedMs` into the watch. */
  | { outcome: "tripped"; metric: string; reason: string; watchedMs: number };

/** The metrics a provider can be polled for within an interval (MetricProvider.watchable). */
export function watchableMetrics(
  providers: MetricProviders,
  metrics: readonly WatchedMetric[],
): WatchedMetric[] {
  return metrics.filter(
    (m) => Object.hasOwn(providers, m.provider) && providers[m.provider]?.watchable === true,
  );
}

/**
 * Watches the critical threshold metrics between two analysis intervals so a
 * bad release is judged as soon as its first window holds `minRequests`
 * requests, not at the interval's end. It only says that a metric tripped:
 * the workflow then measures and judges the interval as always
 * (collectMeasurements, lib/analysis), so the verdict that rolls back is in
 * history like every other. Polls every `pollMs` over the window since the
 * watch began (at least a second: the router's stats resolution), heartbeats
 * each poll, returns when the interval ends (the workflow waits for it after
 * the interval's timer, and cancels it only on a promote or an abort), and
 * never fails: a provider error is simply not a trip.
 */
export function createWatchActivities(deps: DeploymentDeps) {
  return {
    /**
     * Which of `metrics` this worker can watch within an interval: asked once
     * per run, before any watch, so a run with nothing to watch (fakes,
     * CloudWatch) never has a watch racing its timer. Read-only.
     */
    async watchableMetricNames(input: { key: ActivityKey; metrics: WatchedMetric[] }): Promise<string[]> {
      const key = ActivityKey.parse(input.key);
      return watchableMetrics(targetOf(deps, key).metrics, input.metrics).map((m) => m.name);
    },

    async watchCriticalMetrics(input: WatchInput): Promise<WatchResult> {
      const key = ActivityKey.parse(input.key);
      const providers = targetOf(deps, key).metrics;
      const watched = watchableMetrics(providers, input.metrics);
      if (watched.length === 0) return { outcome: "nothing-to-watch" };
      const ctx = Context.current();
      const started = Date.now();
      // Ends with the interval, so the workflow's wait for it after the timer is a poll at most.
      const deadline = started + Math.min(input.maxMs, Math.max(0, input.untilMs - started));
      const specs = new Map<string, MetricSpec>(
        watched.map((m) => [
          m.name,
          {
            name: m.name,
            provider: m.provider,
            query: m.query,
            judge: m.judge,
            critical: true,
            noData: "inconclusive",
            ...(m.unit ? { unit: m.unit } : {}),
            ...(m.minRequests !== undefined ? { minRequests: m.minRequests } : {}),
          },
        ]),
      );
      for (;;) {
        const watchedMs = Date.now() - started;
        const measurements = await measureAll(
          providers,
          watched.map(({ minRequests: _m, ...m }) => m),
          {
            canary: { version: key.version, backend: "green" },
            baseline: { version: input.baselineVersion, backend: "blue" },
            windowSeconds: Math.max(1, Math.ceil(watchedMs / 1000)),
            service: key.service,
            environment: key.environment,
            signal: ctx.cancellationSignal,
          },
        );
        for (const m of measurements) {
          const spec = specs.get(m.metric);
          if (!spec || m.error) continue;
          const r = judgeMetric(spec, m);
          if (r.verdict === "fail")
            return { outcome: "tripped", metric: m.metric, reason: r.reason, watchedMs };
        }
        const left = deadline - Date.now();
        if (left <= 0) return { outcome: "quiet", watchedMs: Date.now() - started };
        ctx.heartbeat({ watchedMs });
        await Promise.race([ctx.sleep(Math.min(input.pollMs, left)), ctx.cancelled]);
      }
    },
  };
}
