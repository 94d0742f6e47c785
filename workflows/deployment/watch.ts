/**
 * Judging within the interval. Measuring only at the interval's end means a
 * bad release keeps its users for up to a whole interval after its first
 * failing request (and one more when the first window held a single good
 * request). So while an interval's timer runs, an activity watches the step's
 * critical threshold metrics (activities/watch.ts: it polls, and returns as
 * soon as one fails with at least minRequests requests behind it); the bake
 * races it against the timer. When it trips, the interval ends there and is
 * measured and judged as every interval is (collectMeasurements, judged here),
 * so the verdict that rolls back is in history.
 *
 * Only providers that can be polled within an interval are watched (the
 * local router: MetricProvider.watchable); the run asks the worker which
 * metrics those are once, before its first watch (watchableMetricNames), so
 * a run with none (CloudWatch; the fakes of the workflow tests, where the
 * time-skipping server would not skip time while a watch runs) never starts
 * a watch at all.
 *
 * Guarded by patched("watch-critical-metrics-within-interval").
 */
import { CancellationScope, condition, isCancellation, patched } from "@temporalio/workflow";
import type { WatchedMetric, WatchResult } from "../../activities/watch";
import type { MetricSpec } from "../../lib/analysis/types";
import { call, OPTS } from "./activities";
import { type DeploymentRun, now } from "./run";

/** How often the watch polls: well under a second, so a 1 s interval is judged within it. */
export const WATCH_POLL_MS = 100;

/** The step's critical threshold metrics: one bad window fails them outright. */
export function watchedMetrics(specs: readonly MetricSpec[]): WatchedMetric[] {
  return specs.flatMap((s) =>
    s.critical && s.judge.kind === "threshold"
      ? [
          {
            name: s.name,
            provider: s.provider,
            query: s.query,
            judge: s.judge,
            ...(s.unit ? { unit: s.unit } : {}),
            ...(s.minRequests !== undefined ? { minRequests: s.minRequests } : {}),
          },
        ]
      : [],
  );
}

export type IntervalEnd =
  | { kind: "timer" }
  | { kind: "promoted" }
  /** A critical metric failed `watchedMs` into the interval: measure and judge now. */
  | { kind: "tripped"; watchedMs: number; metric: string };

/**
 * The metrics this interval watches: `metrics` whose providers the worker can
 * poll (asked once per run); none for runs recorded before the patch.
 */
export async function watchedNow(
  run: DeploymentRun,
  metrics: readonly WatchedMetric[],
): Promise<WatchedMetric[]> {
  if (metrics.length === 0 || !patched("watch-critical-metrics-within-interval")) return [];
  run.watchable ??= await call("watchableMetricNames", OPTS.quick, "which critical metrics can be watched", {
    key: run.key,
    metrics: [...metrics],
  });
  const watchable = run.watchable;
  return metrics.filter((m) => watchable.includes(m.name));
}

/**
 * Waits up to `ms` (the interval) while the watch polls `metrics`; ends early
 * on promote or when the watch trips. The watch ends with the interval; it is
 * cancelled only when a promote ends the wait. Either way it has stopped
 * before the bake goes on: no watch outlives its interval (nor its run).
 */
export async function waitWatching(
  run: DeploymentRun,
  step: { stepIndex: number; weight: number; promoting: () => boolean },
  metrics: WatchedMetric[],
  ms: number,
): Promise<IntervalEnd> {
  let answer: WatchResult | null = null;
  const scope = new CancellationScope();
  const watch = scope
    .run(() =>
      call(
        "watchCriticalMetrics",
        OPTS.watch,
        `watch ${metrics.length} critical metrics at ${step.weight}% (step ${step.stepIndex})`,
        {
          key: run.key,
          step: step.stepIndex,
          baselineVersion: run.blue?.version ?? null,
          metrics,
          pollMs: WATCH_POLL_MS,
          untilMs: now() + ms,
          maxMs: ms,
        },
      ),
    )
    .then(
      (r) => {
        answer = r;
      },
      (err: unknown) => {
        // Cancelled on a promote (or an abort); a failed watch leaves the interval to its timer.
        if (!isCancellation(err)) answer = { outcome: "quiet", watchedMs: 0 };
      },
    );
  const tripped = () => (answer as WatchResult | null)?.outcome === "tripped";
  const early = await condition(() => step.promoting() || tripped(), ms);
  if (early && !tripped()) scope.cancel();
  await watch;
  const a = answer as WatchResult | null;
  if (!early) return { kind: "timer" };
  if (a?.outcome === "tripped") return { kind: "tripped", watchedMs: a.watchedMs, metric: a.metric };
  return { kind: "promoted" };
}
