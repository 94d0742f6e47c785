/**
 * Baking a traffic step (and the post-promotion watch): hold the weight for
 * the bake time, stopping at the pause checkpoint, and — when the release has
 * an analysis section — measure and judge every interval, then conclude the
 * step. A promote request skips the remaining bake time but never the
 * judging: every step is measured at least once and must conclude "continue".
 * Judging runs here, in the workflow, so every verdict is in history.
 *
 * Bake time is counted from the timers themselves, not from Date.now()
 * deltas: after a workflow task times out (its worker died) the live worker
 * and a later replay can see different workflow times, and a bake measured
 * by the clock then ends one interval earlier on replay — a nondeterminism
 * error on every query of the finished deployment (found by the chaos suite).
 * Runs that started before that change keep the clock (patch
 * "bake-time-counted-by-timers").
 *
 * Each interval is a checkpoint where a run whose history has grown long
 * continues as new (continuation.ts); the next run resumes the bake at the
 * time baked so far (`BakePlace`).
 *
 * Within an interval the critical threshold metrics are watched (watch.ts):
 * when one fails the interval ends there and is measured and judged at once,
 * instead of at the interval's end.
 */
import { condition, patched } from "@temporalio/workflow";
import type { WatchedMetric } from "../../activities/watch";
import { concludeStep, recordInterval, resumeAnalysis } from "../../lib/analysis/aggregate";
import {
  analysisLimitsFromConfig,
  effectiveAnalysis,
  metricSpecsFromConfig,
} from "../../lib/analysis/from-config";
import { comparesWithBaseline, judgeAll } from "../../lib/analysis/judges";
import type { AnalysisVerdict, MetricResult, MetricSpec } from "../../lib/analysis/types";
import type { VerdictRow } from "../../lib/notifications/payload";
import { call, OPTS } from "./activities";
import { type BakeProgress, continueAsNewIfLong, type ResumePoint } from "./continuation";
import { rollbackRequested, rolloutHooks } from "./hooks";
import type { TrafficItem } from "./plan";
import { type DeploymentRun, now, StopDeployment } from "./run";
import { recordVerdict } from "./state";
import { type IntervalEnd, waitWatching, watchedMetrics, watchedNow } from "./watch";

/** One step being baked with analysis. */
interface AnalysedStep {
  stepIndex: number;
  weight: number;
  bakeMs: number;
  intervalMs: number;
  specs: MetricSpec[];
  promoting: () => boolean;
  resumeAt: (p: BakeProgress) => ResumePoint;
  /** The critical threshold metrics watched within each interval (watch.ts); emptied when the watch is turned off. */
  watched: WatchedMetric[];
  /** A traffic step (not the post-promotion watch): its intervals call the rollout hooks (hooks.ts). */
  rolloutHooks: boolean;
}

/** Where a bake is in the deployment, for a continued run to resume it; `progress` when it resumes one. */
export interface BakePlace {
  resumeAt: (p: BakeProgress) => ResumePoint;
  progress?: BakeProgress;
}

/**
 * Holds `bakeMs` at the current weight while analysing every interval; returns
 * when the step may move on. `item` is null for the post-promotion watch,
 * which a promote request does not shorten.
 */
export async function bakeAndAnalyse(
  run: DeploymentRun,
  stepIndex: number,
  weight: number,
  bakeMs: number,
  item: TrafficItem | null,
  place: BakePlace,
): Promise<void> {
  const section = run.config.release.analysis;
  const promoting = () => item !== null && run.promoteRequest !== null;
  if (!section) {
    // No intervals: a traffic step asks its rollback and rollout hooks once, as it starts (hooks.ts).
    if (item) {
      await rollbackRequested(run);
      await rolloutHooks(run);
    }
    return bakeWithoutAnalysis(run, bakeMs - (place.progress?.bakedMs ?? 0), promoting);
  }
  const step: AnalysedStep = {
    stepIndex,
    weight,
    bakeMs,
    intervalMs: effectiveAnalysis(section, item?.analysis).interval,
    specs: metricSpecsFromConfig(section, item?.analysis),
    promoting,
    resumeAt: place.resumeAt,
    watched: [],
    rolloutHooks: item !== null,
  };
  step.watched = watchedMetrics(step.specs);
  run.analysis = {
    ...run.analysis,
    limits: { ...run.analysis.limits, ...analysisLimitsFromConfig(section, item?.analysis) },
  };
  let progress = place.progress;
  for (;;) {
    await bakeMeasuring(run, step, progress);
    progress = undefined; // after an analysis pause the step is baked again from the start
    const c = concludeStep(run.analysis, now());
    run.analysis = c.state;
    syncAnalysis(run, c.verdict);
    if (c.decision === "continue") return;
    if (c.decision === "fail") throw new StopDeployment(`analysis failed: ${c.verdict.line}`, "analysis");
    await analysisPause(run, c.verdict.line); // then bake the step again
  }
}

/** Waits up to `ms`, ending early on promote; returns the bake time that counts. */
async function bakeFor(run: DeploymentRun, promoting: () => boolean, ms: number): Promise<number> {
  const t0 = now();
  const early = await condition(promoting, ms);
  return run.bakeByTimers ? (early ? 0 : ms) : now() - t0;
}

async function bakeWithoutAnalysis(run: DeploymentRun, bakeMs: number, promoting: () => boolean) {
  let left = bakeMs;
  while (left > 0 && !promoting()) {
    await run.holdIfPaused();
    const baked = await bakeFor(run, promoting, left);
    left -= baked;
  }
}

/**
 * Bakes the step, measuring once per interval (at least once, even when
 * promoted); `from`: what an earlier run of the chain baked of it.
 */
async function bakeMeasuring(run: DeploymentRun, step: AnalysedStep, from?: BakeProgress): Promise<void> {
  let elapsed = from?.bakedMs ?? 0;
  let measured = from?.measured ?? false;
  while (!measured || (elapsed < step.bakeMs && !step.promoting())) {
    await continueAsNewIfLong(run, step.resumeAt({ bakedMs: elapsed, measured }));
    await run.holdIfPaused();
    const wait = step.promoting() ? 0 : Math.min(step.intervalMs, step.bakeMs - elapsed);
    let tripped: Extract<IntervalEnd, { kind: "tripped" }> | null = null;
    // Hooks (hooks.ts): a rollback hook saying yes rolls back now; rollout hooks run alongside
    // the interval (a load generator drives it) and are awaited before it is measured.
    if (step.rolloutHooks) await rollbackRequested(run);
    let hookError: unknown = null;
    const hooked = step.rolloutHooks
      ? rolloutHooks(run).catch((err) => {
          hookError = err;
        })
      : null;
    const watched = wait > 0 ? await watchedNow(run, step.watched) : [];
    if (watched.length > 0) {
      const t0 = now();
      const end = await waitWatching(run, step, watched, wait);
      if (end.kind === "tripped") tripped = end;
      // Counted like bakeFor: an interval the watch ended counts whole (it is judged now).
      elapsed += run.bakeByTimers ? (end.kind === "promoted" ? 0 : wait) : now() - t0;
    } else if (wait > 0) {
      const baked = await bakeFor(run, step.promoting, wait);
      elapsed += baked;
    }
    if (hooked) {
      await hooked;
      if (hookError) throw hookError;
    }
    await measureInterval(run, step, wait, tripped ? trippedWindowMs(tripped.watchedMs) : undefined);
    // Still going: the interval's judgement did not confirm the watch (their windows differ), so
    // this step is judged at interval ends only rather than cut short again and again.
    if (tripped) step.watched = [];
    measured = true;
  }
}

/** The window the watch tripped on, in the whole seconds the providers count in. */
function trippedWindowMs(watchedMs: number): number {
  return Math.max(1, Math.ceil(watchedMs / 1000)) * 1000;
}

/**
 * Measures the last interval (`waitedMs` long, or `windowMs` when the watch
 * ended it early) and judges it; fails or pauses the deployment on the verdict.
 */
async function measureInterval(
  run: DeploymentRun,
  step: AnalysedStep,
  waitedMs: number,
  windowMs?: number,
): Promise<void> {
  const { stepIndex, weight } = step;
  const specs = judgedSpecs(run, step.specs);
  const measurements = await call(
    "collectMeasurements",
    OPTS.measure,
    `measure ${specs.length} metrics at ${weight}% (step ${stepIndex})`,
    {
      key: run.key,
      step: stepIndex,
      interval: run.analysis.intervals,
      baselineVersion: run.blue?.version ?? null,
      windowMs: windowMs ?? Math.max(waitedMs, step.intervalMs),
      metrics: specs.map((s) => ({
        name: s.name,
        provider: s.provider,
        query: s.query,
        judge: s.judge,
        ...(s.unit ? { unit: s.unit } : {}),
      })),
    },
  );
  const results = judgeAll(specs, measurements);
  const atMs = now();
  run.status.analysis.latest = {
    stepIndex,
    weightPercent: weight,
    atMs,
    results: results.map(({ stats: _stats, ...r }) => r),
  };
  const r = recordInterval(run.analysis, results, { stepIndex, weightPercent: weight, atMs });
  run.analysis = r.state;
  syncAnalysis(run, r.verdict);
  run.emit("analysis-verdict", `${run.label}: analysis ${r.decision} at ${weight}%: ${r.verdict.line}`, {
    step: { index: stepIndex, total: run.plan.trafficSteps, weight },
    decision: r.decision,
    verdictLine: r.verdict.line,
    verdicts: verdictRows(results),
  });
  if (r.decision === "fail") throw new StopDeployment(`analysis failed: ${r.verdict.line}`, "analysis");
  if (r.decision === "pause") await analysisPause(run, r.verdict.line);
}

/**
 * A first deployment has no blue to compare with: judges relative to blue
 * (maxIncrease, minRatioToBaseline, Mann-Whitney) could only ever be
 * inconclusive, and would pause the very first run of a service. They are left
 * out (said once in the decision log); thresholds still judge green.
 */
function judgedSpecs(run: DeploymentRun, specs: readonly MetricSpec[]): readonly MetricSpec[] {
  if (run.blue !== null || !specs.some(comparesWithBaseline)) return specs;
  if (!patched("first-deployment-skips-baseline-judges")) return specs;
  const skipped = specs.filter(comparesWithBaseline).map((s) => s.name);
  if (!run.baselineSkipNoted) {
    run.baselineSkipNoted = true;
    run.decide({
      kind: "analysis",
      by: "analysis",
      reason: `first deployment: no blue to compare with, judged without ${skipped.join(", ")}`,
    });
  }
  return specs.filter((s) => !comparesWithBaseline(s));
}

/** The per-metric rows a notification carries (lib/notifications/payload.ts). */
export function verdictRows(results: readonly MetricResult[]): VerdictRow[] {
  return results.map((x) => ({
    metric: x.metric,
    verdict: x.verdict,
    critical: x.critical,
    value: x.value,
    baseline: x.baseline,
    threshold: x.threshold,
    reason: x.reason,
  }));
}

function syncAnalysis(run: DeploymentRun, v?: AnalysisVerdict): void {
  const { status } = run;
  status.analysis.status = run.plan.hasAnalysis ? run.analysis.status : "off";
  status.analysis.decisions = run.analysis.decisions;
  if (v) recordVerdict(status, v);
}

/** An analysis "pause" (provider outage, inconclusive data) holds the deployment until a human resumes it. */
async function analysisPause(run: DeploymentRun, line: string): Promise<void> {
  run.status.paused = { by: "analysis", reason: line, sinceMs: now() };
  run.decide({ kind: "analysis", by: "analysis", reason: `paused: ${line}` });
  // Outbox runs announce the pause from holdIfPaused (by "analysis", with this line as the reason).
  await run.legacyNotify("analysis-paused", `${run.label}: ${line}`);
  await run.holdIfPaused();
  run.analysis = resumeAnalysis(run.analysis);
  syncAnalysis(run);
}
