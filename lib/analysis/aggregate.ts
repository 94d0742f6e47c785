/**
 * The analysis-run reducer: fold each interval's MetricResults into a bounded
 * state and decide whether the rollout continues, fails (roll back) or pauses
 * (stop shifting traffic, notify a human; do not roll back).
 *
 * Pure and deterministic — the workflow imports it directly. Time comes in
 * through `IntervalContext.atMs` (workflow time), never from a clock.
 *
 * Counting (per metric; all "step" counters reset when the step index changes,
 * because each traffic step is judged afresh):
 *  - fail:   failed measurements in the step. A metric with more than
 *            `failureLimit` → "fail". A `critical` metric's first failure → "fail".
 *            A `noData: "fail"` metric's missing data is a failure like any other.
 *  - error:  consecutive provider errors (any non-error result resets the run).
 *            More than `consecutiveErrorLimit` → "pause" with
 *            "metrics provider unavailable: …" — a Prometheus outage says nothing
 *            about the new version, so it must not roll back a healthy release.
 *            Errors never count as failures.
 *  - inconclusive: CONSECUTIVE inconclusive results (a pass, marginal or fail
 *            resets the run; an error leaves it unchanged). More than
 *            `inconclusiveLimit` → "pause". Consecutive (not total, as Argo
 *            Rollouts counts) so the warm-up of a low-traffic step, where
 *            minRequests is not met yet, does not pause a rollout that later
 *            gets enough data; `concludeStep` then refuses to promote a step in
 *            which a metric never got a conclusive result.
 *  - marginal: recorded and shown, never fails or pauses.
 * Priority when several trigger in one interval: fail > provider pause > inconclusive pause.
 * "failed" is terminal: later intervals keep being logged but the decision stays "fail".
 *
 * Bounds (state is kept in workflow memory, returned by queries and carried
 * through continue-as-new, so its size matters): each metric keeps its last
 * min(logPerMetric, floor(maxLogEntries / number of metrics)) measurements
 * (at least 1; defaults 50 and 1000), plus counters and its latest failure;
 * reasons are capped at 300 characters; at most 20 decisions are kept.
 * With the defaults the log never exceeds 1000 entries (~250 KB of JSON).
 */
import { formatWeight } from "./format";
import {
  type AnalysisLimitsInput,
  AnalysisLimitsSchema,
  type AnalysisState,
  type AnalysisVerdict,
  type Counters,
  type Decision,
  type IntervalContext,
  type LogEntry,
  MAX_DECISIONS,
  type MetricResult,
  type MetricState,
} from "./types";

export interface AnalysisStep {
  state: AnalysisState;
  decision: Decision;
  verdict: AnalysisVerdict;
}

const ZERO: Counters = { samples: 0, pass: 0, marginal: 0, fail: 0, inconclusive: 0, error: 0 };

function stepCounters(): MetricState["step"] {
  return { ...ZERO, consecutiveErrors: 0, consecutiveInconclusive: 0 };
}

/** A fresh run. Limits are validated and defaulted (see AnalysisLimitsSchema). */
export function initialAnalysisState(limits: AnalysisLimitsInput = {}): AnalysisState {
  return {
    limits: AnalysisLimitsSchema.parse(limits),
    status: "running",
    intervals: 0,
    step: null,
    metrics: {},
    verdict: null,
    decisions: [],
  };
}

/** Per-metric log cap for the current number of metrics. */
export function logCapPerMetric(state: Pick<AnalysisState, "limits">, metricCount: number): number {
  const { logPerMetric, maxLogEntries } = state.limits;
  return Math.max(1, Math.min(logPerMetric, Math.floor(maxLogEntries / Math.max(1, metricCount))));
}

function samplesText(k: number, n: number): string {
  return `${k} of ${n} sample${n === 1 ? "" : "s"}`;
}

function othersText(label: string, names: string[]): string {
  if (names.length === 0) return "";
  const shown = names.slice(0, 3).join(", ");
  return `; also ${label}: ${shown}${names.length > 3 ? ` and ${names.length - 3} more` : ""}`;
}

function pushDecision(decisions: AnalysisVerdict[], v: AnalysisVerdict): AnalysisVerdict[] {
  const next = [...decisions, v];
  return next.length > MAX_DECISIONS ? next.slice(next.length - MAX_DECISIONS) : next;
}

function uniqueInOrder(names: string[]): string[] {
  return [...new Set(names)];
}

/**
 * Fold one interval's results into the run. Returns the new state, the
 * decision, and a one-line verdict such as
 * "error-rate 4.8% > max 1% at 10% traffic (3 of 3 samples)".
 */
export function recordInterval(
  state: AnalysisState,
  results: readonly MetricResult[],
  ctx: IntervalContext,
): AnalysisStep {
  const newStep = state.step === null || state.step.index !== ctx.stepIndex;
  const step = newStep
    ? { index: ctx.stepIndex, weightPercent: ctx.weightPercent, intervals: 1, startedAtMs: ctx.atMs }
    : { ...state.step!, weightPercent: ctx.weightPercent, intervals: state.step!.intervals + 1 };

  const metrics: Record<string, MetricState> = {};
  for (const [name, ms] of Object.entries(state.metrics)) {
    metrics[name] = newStep ? { ...ms, step: stepCounters() } : ms;
  }

  for (const r of results) {
    const prev = metrics[r.metric] ?? {
      critical: r.critical,
      step: stepCounters(),
      total: { ...ZERO },
      lastFailure: null,
      log: [],
    };
    const entry: LogEntry = {
      atMs: ctx.atMs,
      stepIndex: ctx.stepIndex,
      weightPercent: ctx.weightPercent,
      verdict: r.verdict,
      value: r.value,
      baseline: r.baseline,
      threshold: r.threshold,
      reason: r.reason,
    };
    const conclusive = r.verdict === "pass" || r.verdict === "marginal" || r.verdict === "fail";
    metrics[r.metric] = {
      critical: r.critical,
      step: {
        ...prev.step,
        samples: prev.step.samples + 1,
        [r.verdict]: prev.step[r.verdict] + 1,
        consecutiveErrors: r.verdict === "error" ? prev.step.consecutiveErrors + 1 : 0,
        consecutiveInconclusive:
          r.verdict === "inconclusive"
            ? prev.step.consecutiveInconclusive + 1
            : conclusive
              ? 0
              : prev.step.consecutiveInconclusive,
      },
      total: { ...prev.total, samples: prev.total.samples + 1, [r.verdict]: prev.total[r.verdict] + 1 },
      lastFailure: r.verdict === "fail" ? entry : prev.lastFailure,
      log: [...prev.log, entry],
    };
  }

  // bound the log
  const cap = logCapPerMetric(state, Object.keys(metrics).length);
  for (const [name, ms] of Object.entries(metrics)) {
    if (ms.log.length > cap) metrics[name] = { ...ms, log: ms.log.slice(ms.log.length - cap) };
  }

  const { failureLimit, consecutiveErrorLimit, inconclusiveLimit } = state.limits;
  const at = `at ${formatWeight(ctx.weightPercent)} traffic`;
  const names = uniqueInOrder(results.map((r) => r.metric));
  const ms = (n: string) => metrics[n]!;
  const latestReason = (n: string, verdict: MetricResult["verdict"]) =>
    [...results].reverse().find((r) => r.metric === n && r.verdict === verdict)?.reason ?? "";

  const base = { stepIndex: ctx.stepIndex, weightPercent: ctx.weightPercent, atMs: ctx.atMs };
  let decision: Decision;
  let verdict: AnalysisVerdict;

  const failing = names.filter((n) => {
    const m = ms(n);
    return m.step.fail > 0 && (m.critical || m.step.fail > failureLimit);
  });
  // only metrics that failed in THIS interval can newly trip; report critical ones first
  const tripped = failing
    .filter((n) => results.some((r) => r.metric === n && r.verdict === "fail"))
    .sort((a, b) => Number(ms(b).critical) - Number(ms(a).critical));
  const errored = names.filter((n) => ms(n).step.consecutiveErrors > consecutiveErrorLimit);
  const undecided = names.filter((n) => ms(n).step.consecutiveInconclusive > inconclusiveLimit);

  if (tripped.length > 0) {
    const n = tripped[0]!;
    const m = ms(n);
    const crit = m.critical ? ", critical" : "";
    decision = "fail";
    verdict = {
      ...base,
      decision,
      metric: n,
      line: `${m.lastFailure!.reason} ${at} (${samplesText(m.step.fail, m.step.samples)}${crit})${othersText("failing", tripped.slice(1))}`,
    };
  } else if (state.status === "failed" && state.verdict) {
    decision = "fail";
    verdict = state.verdict;
  } else if (errored.length > 0) {
    const n = errored[0]!;
    const m = ms(n);
    decision = "pause";
    verdict = {
      ...base,
      decision,
      metric: n,
      line: `metrics provider unavailable: ${latestReason(n, "error")} ${at} (${samplesText(m.step.consecutiveErrors, m.step.samples)} failed in a row)${othersText("erroring", errored.slice(1))}`,
    };
  } else if (undecided.length > 0) {
    const n = undecided[0]!;
    const m = ms(n);
    decision = "pause";
    verdict = {
      ...base,
      decision,
      metric: n,
      line: `analysis inconclusive: ${latestReason(n, "inconclusive")} ${at} (${samplesText(m.step.consecutiveInconclusive, m.step.samples)} inconclusive in a row)${othersText("inconclusive", undecided.slice(1))}`,
    };
  } else {
    decision = "continue";
    verdict = { ...base, decision, metric: null, line: continueLine(results, names, metrics, state, at) };
  }

  const status = decision === "fail" ? "failed" : decision === "pause" ? "paused" : "running";
  // record a decision when the run enters a failed or paused status, not on every interval after
  const entered = decision !== "continue" && status !== state.status;
  return {
    state: {
      ...state,
      status,
      intervals: state.intervals + 1,
      step,
      metrics,
      verdict,
      decisions: entered ? pushDecision(state.decisions, verdict) : state.decisions,
    },
    decision,
    verdict,
  };
}

function continueLine(
  results: readonly MetricResult[],
  names: string[],
  metrics: Record<string, MetricState>,
  state: AnalysisState,
  at: string,
): string {
  const counts: Record<MetricResult["verdict"], number> = {
    pass: 0,
    marginal: 0,
    fail: 0,
    inconclusive: 0,
    error: 0,
  };
  for (const r of results) counts[r.verdict]++;
  const parts = (["pass", "marginal", "fail", "inconclusive", "error"] as const)
    .filter((k) => counts[k] > 0)
    .map((k) => `${counts[k]} ${k}`);
  let line = `${names.length} metric${names.length === 1 ? "" : "s"} ${at}: ${parts.join(", ") || "no results"}`;
  const failed = results.find((r) => r.verdict === "fail");
  if (failed) {
    const m = metrics[failed.metric]!;
    line += `; ${failed.reason} (${samplesText(m.step.fail, m.step.samples)}, failureLimit ${state.limits.failureLimit})`;
  }
  return line;
}

/**
 * Called when a step's bake time is over: may the rollout move on?
 *  - "fail" if the run has failed;
 *  - "pause" if it is paused, if nothing was measured in the step, or if any
 *    metric measured in the step never got a conclusive result (pass, marginal
 *    or fail) — a step is never promoted on no evidence;
 *  - "continue" otherwise.
 * Metrics with no measurement at all in this step (e.g. dropped from the spec)
 * are ignored.
 */
export function concludeStep(state: AnalysisState, atMs: number): AnalysisStep {
  if (state.status === "failed" && state.verdict) {
    return { state, decision: "fail", verdict: state.verdict };
  }
  if (state.status === "paused" && state.verdict) {
    return { state, decision: "pause", verdict: state.verdict };
  }
  const step = state.step;
  const base = { stepIndex: step?.index ?? -1, weightPercent: step?.weightPercent ?? 0, atMs };
  const pause = (metric: string | null, line: string): AnalysisStep => {
    const verdict: AnalysisVerdict = { ...base, decision: "pause", metric, line };
    return {
      state: { ...state, status: "paused", verdict, decisions: pushDecision(state.decisions, verdict) },
      decision: "pause",
      verdict,
    };
  };
  if (!step) return pause(null, "no analysis intervals were recorded");
  const at = `at ${formatWeight(step.weightPercent)} traffic`;
  const measured = Object.entries(state.metrics).filter(([, m]) => m.step.samples > 0);
  if (measured.length === 0) return pause(null, `no metrics were measured ${at}`);
  const unresolved = measured.filter(([, m]) => m.step.pass + m.step.marginal + m.step.fail === 0);
  if (unresolved.length > 0) {
    const [name, m] = unresolved[0]!;
    const last = m.log[m.log.length - 1];
    const lastText = last && last.stepIndex === step.index ? `; last: ${last.reason}` : "";
    return pause(
      name,
      `${name} had no conclusive measurement ${at} (0 of ${m.step.samples} samples conclusive${lastText})${othersText(
        "without a conclusive measurement",
        unresolved.slice(1).map(([n]) => n),
      )}`,
    );
  }
  let samples = 0;
  let marginal = 0;
  let fail = 0;
  for (const [, m] of measured) {
    samples += m.step.samples;
    marginal += m.step.marginal;
    fail += m.step.fail;
  }
  const extras = [
    marginal > 0 ? `${marginal} marginal` : "",
    fail > 0 ? `${fail} failed within failureLimit` : "",
  ]
    .filter(Boolean)
    .join(", ");
  const verdict: AnalysisVerdict = {
    ...base,
    decision: "continue",
    metric: null,
    line: `step passed ${at}: ${measured.length} metrics, ${samples} samples${extras ? ` (${extras})` : ""}`,
  };
  return { state: { ...state, verdict }, decision: "continue", verdict };
}

/**
 * A human resumed a paused analysis: clear the consecutive error and
 * inconclusive runs so the limits apply afresh. A failed run stays failed.
 */
export function resumeAnalysis(state: AnalysisState): AnalysisState {
  if (state.status === "failed") return state;
  const metrics: Record<string, MetricState> = {};
  for (const [name, m] of Object.entries(state.metrics)) {
    metrics[name] = { ...m, step: { ...m.step, consecutiveErrors: 0, consecutiveInconclusive: 0 } };
  }
  return { ...state, status: "running", metrics };
}
