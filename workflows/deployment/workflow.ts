/**
 * DeploymentWorkflow: one version of one service through the release plan,
 * ending as exactly one of promoted / rolled-back / needs-attention.
 *
 *   validate → preflight → provision green → expand schema → verify green
 *     → plan items (approval gates; traffic steps: weight, bake, analyse)
 *     → post-promotion watch → keep blue warm → finalize (routes, decommission blue, contract schema)
 *
 * Cancellation vs terminate:
 *  - Workflow CANCELLATION (`temporal workflow cancel`, the CLI's abort) and the
 *    `abort` update both mean abort-and-roll-back: the forward scope is cancelled
 *    (the running activity gets the cancellation through its heartbeat), then
 *    the compensations run inside CancellationScope.nonCancellable and the
 *    workflow completes normally with outcome "rolled-back".
 *  - TERMINATE kills the run at once: no workflow code runs, so NO compensation
 *    runs. Only use it on a deployment whose side effects you clean up by hand.
 *  - Past the point of no return (phase "finalizing", after the keep window)
 *    an abort is refused and a cancel is ignored until finalizing is done.
 *
 * Determinism: no I/O and no Node APIs; time comes from `now()` (the sandbox's
 * Date, which the SDK pins to workflow-task time); judging runs on
 * lib/analysis inside the workflow so verdicts are in history. Every change to
 * released behaviour goes behind patched(); the patches so far:
 *  - "bake-time-counted-by-timers" (run.ts, used by bake.ts and forward.ts):
 *    bake time and the keep window are counted from the timers that ran, not
 *    from clock deltas, which could differ between a live worker and a replay.
 *  - "signed-decisions" (run.ts; signing.ts, handlers.ts, forward.ts): the start
 *    and every control update are verified against the signers file when the
 *    environment has one, and the worker's pinned policy is confirmed at
 *    preflight and for decisions that move the deployment on.
 *  - "first-deployment-skips-baseline-judges" (bake.ts): with no blue to
 *    compare with, judges relative to blue are left out (said once in the
 *    decision log) instead of staying inconclusive and pausing the first run.
 *  - "rolled-back-fails-workflow" (workflow.ts): a rolled-back deployment
 *    closes as a failed workflow (DeploymentRolledBack, the result as its
 *    detail) instead of completing; runs recorded before it still complete.
 *  - "input-length-limits" (workflow.ts): names, `requestedBy` and `reason`
 *    over their length limits fail the start like any other invalid input.
 *  - "compensation-retry-at-once-after-worker-loss" (saga.ts): a compensation
 *    attempt whose heartbeat timed out (its worker died) is retried at once
 *    instead of after the backoff timer.
 *  - "signed-digests-match-input" (signing.ts): a signed start is refused when
 *    the migrations it carries (recomputed from their text) or its artifact
 *    digest are not the ones the signature covers.
 *  - "long-bakes-continue-as-new" (continuation.ts, used by bake.ts): a run
 *    whose history grows long continues as new at the next analysis
 *    checkpoint, carrying the whole deployment; the next run resumes the bake
 *    where it was (forward.ts `resumeForward`).
 *  - "watch-critical-metrics-within-interval" (watch.ts, used by bake.ts):
 *    within each interval a watch activity polls the critical threshold
 *    metrics of pollable providers; a failure ends the interval at once.
 *  - "notifications-outbox" (run.ts, notifications.ts): notifications are
 *    queued in an outbox and delivered by background lanes (one activity per
 *    event and sink, in order, retried), never awaited by the forward path or
 *    the rollback; the run waits (at most 2 min) for them after its outcome.
 *    Older runs awaited one `notify` activity per event, inline.
 *
 * The modules: run.ts (state), handlers.ts (updates), signing.ts (signed
 * decisions), forward.ts, gates.ts, bake.ts, rollback.ts, finalize.ts,
 * activities.ts (activity options).
 */
import { ApplicationFailure, ContinueAsNew, patched, workflowInfo } from "@temporalio/workflow";
import type { Environment } from "../../lib/config/schema";
import {
  DeploymentInput,
  type DeploymentInputParsed,
  type DeploymentResult,
  FAILURE_TYPES,
  inputLengthProblems,
} from "../../lib/deployment/types";
import { type Continuation, ContinuationSchema } from "./continuation";
import { finalize } from "./finalize";
import { forward, resumeForward } from "./forward";
import { registerHandlers } from "./handlers";
import { rollback } from "./rollback";
import { DeploymentRun } from "./run";

export async function deploymentWorkflow(rawInput: DeploymentInput): Promise<DeploymentResult> {
  const { input, envConfig, continued } = validateInput(rawInput);
  const run = new DeploymentRun(input, envConfig, input.deploymentId ?? workflowInfo().runId, continued);
  run.start();
  registerHandlers(run);
  try {
    await run.forwardScope.run(() => (continued ? resumeForward(run, continued.resumeAt) : forward(run)));
  } catch (err) {
    // Continuing as new is how a long bake goes on (continuation.ts), not a failure.
    if (err instanceof ContinueAsNew) throw err;
    const result = await rollback(run, err);
    // Users are back on blue: only now may the end wait (bounded) for notifications.
    await run.notifications.drain();
    if (patched("rolled-back-fails-workflow")) throw rolledBackFailure(result);
    return result;
  }
  const result = await finalize(run);
  await run.notifications.drain();
  return result;
}

/**
 * A rolled-back deployment ends as a failed workflow (typed, non-retryable)
 * carrying its result, so a person scanning the Web UI sees which releases
 * failed; clients read the result back with client/deployment-result.ts.
 */
function rolledBackFailure(result: DeploymentResult): ApplicationFailure {
  return ApplicationFailure.create({
    message: `rolled back: ${result.reason ?? "no reason recorded"}`,
    type: FAILURE_TYPES.rolledBack,
    nonRetryable: true,
    details: [result],
  });
}

/** Before any side effect: a bad input fails the workflow, non-retryably, naming every problem. */
function validateInput(rawInput: DeploymentInput): {
  input: DeploymentInputParsed;
  envConfig: Environment;
  continued: Continuation | null;
} {
  const tooLong = inputLengthProblems(rawInput);
  if (tooLong.length > 0 && patched("input-length-limits")) {
    throw ApplicationFailure.nonRetryable(
      `invalid deployment input — ${tooLong.join("; ")}`,
      FAILURE_TYPES.invalidInput,
    );
  }
  const parsed = DeploymentInput.safeParse(rawInput);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .map((i) => `${i.path.join(".") || "input"}: ${i.message}`)
      .join("; ");
    throw ApplicationFailure.nonRetryable(
      `invalid deployment input — ${problems}`,
      FAILURE_TYPES.invalidInput,
    );
  }
  const input = parsed.data;
  const config = input.config;
  const envConfig = config.environments[input.environment];
  if (config.service !== input.service || !envConfig) {
    throw ApplicationFailure.nonRetryable(
      config.service !== input.service
        ? `the config is for service "${config.service}", not "${input.service}"`
        : `environment "${input.environment}" is not in the config (known: ${Object.keys(config.environments).join(", ")})`,
      FAILURE_TYPES.invalidConfig,
    );
  }
  if (envConfig.target === "aws" && !envConfig.aws) {
    throw ApplicationFailure.nonRetryable(
      `environment "${input.environment}" has target: aws but no aws section`,
      FAILURE_TYPES.invalidConfig,
    );
  }
  return { input, envConfig, continued: continuedState(input) };
}

/**
 * What the previous run carried over. Only the workflow itself continues as
 * new, so a start that carries state is refused: it could claim gates passed.
 */
function continuedState(input: DeploymentInputParsed): Continuation | null {
  if (input.continued === undefined) return null;
  const invalid = (why: string) =>
    ApplicationFailure.nonRetryable(
      `invalid deployment input — continued: ${why}`,
      FAILURE_TYPES.invalidInput,
    );
  if (!workflowInfo().continuedFromExecutionRunId) {
    throw invalid("only a run that continues as new carries state over; a start cannot");
  }
  const parsed = ContinuationSchema.safeParse(input.continued);
  if (!parsed.success) {
    throw invalid(parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "));
  }
  // The status is the workflow's own, checked structurally (the schema keeps it as it was).
  return parsed.data as Continuation;
}
