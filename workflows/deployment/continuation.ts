/**
 * Long bakes within Temporal's limits. Every analysis interval costs about
 * eleven history events (timer, measurement activity, workflow tasks), so a
 * day at a 10 s interval is ~95k events: past Temporal's hard limit of 51,200,
 * where the server terminates the run — mid-deployment, with no compensation.
 *
 * So at an analysis checkpoint (between intervals, never while a side effect
 * or an update handler is in flight) a run whose history has grown past
 * CONTINUE_AS_NEW_AFTER_EVENTS, or which the server says should continue as
 * new, continues as new with everything the deployment is: its status (phases,
 * decision log with its signature records, compensation records, verdicts),
 * the saga by name (compensations.ts rebuilds it), green, blue, the migration,
 * the analysis state, the promote request, the nonces already spent, and where
 * to resume. The workflow ID stays the same and the deployment ID goes into the
 * input, so every activity key, every signature and `status` are unchanged;
 * the memo says when the deployment started and how many runs it has had, so
 * the CLI shows the chain as one deployment.
 *
 * Guarded by patched("long-bakes-continue-as-new"): a run recorded before it
 * replays without ever continuing as new.
 */
import {
  allHandlersFinished,
  condition,
  makeContinueAsNewFunc,
  patched,
  workflowInfo,
} from "@temporalio/workflow";
import {
  type Continuation as CarriedState,
  CHAIN_MEMO,
  type CompensationName,
  type ResumePoint,
} from "../../lib/deployment/continuation";
import type { DeploymentInput } from "../../lib/deployment/types";
import type { DeploymentRun } from "./run";
import type { DeploymentStatus } from "./state";

export type { BakeProgress, ResumePoint } from "../../lib/deployment/continuation";
export { ContinuationSchema } from "../../lib/deployment/continuation";

/** What the previous run of the chain carried over, its status typed as the workflow's. */
export type Continuation = Omit<CarriedState, "status"> & { status: DeploymentStatus };

/**
 * Temporal suggests continuing as new at 4K events (and 4 MB); the hard limit
 * is 51,200 events. An interval is ~11 events, so a run holds ~360 intervals
 * and its history stays far below the limit whatever the plan.
 */
export const CONTINUE_AS_NEW_AFTER_EVENTS = 4_000;

function historyIsLong(): boolean {
  const info = workflowInfo();
  return info.continueAsNewSuggested || info.historyLength >= CONTINUE_AS_NEW_AFTER_EVENTS;
}

/**
 * The checkpoint of the bake loops: continues as new when the history is long
 * (throws ContinueAsNew, which the workflow lets through); otherwise returns.
 */
export async function continueAsNewIfLong(run: DeploymentRun, resumeAt: ResumePoint): Promise<void> {
  if (!historyIsLong() || !patched("long-bakes-continue-as-new")) return;
  // An update still being confirmed (a signed promote) finishes in this run, not half in each.
  await condition(allHandlersFinished);
  // Deliveries in flight are abandoned with this run (the next run sends them again, same id); none starts now.
  if (run.outbox) run.notifications.freeze();
  const next = nextInput(run, resumeAt);
  const info = workflowInfo();
  await makeContinueAsNewFunc<(input: DeploymentInput) => Promise<unknown>>({
    memo: {
      ...info.memo,
      [CHAIN_MEMO.startedAtMs]: next.continued.chain.startedAtMs,
      [CHAIN_MEMO.runs]: next.continued.chain.runs,
    },
    typedSearchAttributes: info.typedSearchAttributes,
  })(next);
}

function nextInput(run: DeploymentRun, resumeAt: ResumePoint): DeploymentInput & { continued: Continuation } {
  const { input } = run;
  const info = workflowInfo();
  const chain = run.chain
    ? { ...run.chain, runs: run.chain.runs + 1 }
    : { runs: 2, firstRunId: info.runId, startedAtMs: info.startTime.getTime() };
  const usedNonces = [...run.signing.usedNonces.entries()];
  const continued: Continuation = {
    resumeAt,
    status: run.status,
    analysis: run.analysis,
    saga: run.saga.names() as CompensationName[],
    green: run.green,
    blue: run.blue,
    migration: run.migration,
    servingBefore: run.servingBefore,
    baselineSkipNoted: run.baselineSkipNoted,
    promoteRequest: run.promoteRequest,
    behaviour: { bakeByTimers: run.bakeByTimers, signedDecisions: run.signedDecisions },
    usedNonces,
    ...(run.outbox ? { notifications: run.notifications.carry() } : {}),
    chain,
  };
  return {
    ...input,
    // The first run's ID was the deployment ID unless the starter named one: it stays the same.
    deploymentId: run.deploymentId,
    ...(input.signing ? { signing: { ...input.signing, usedNonces: usedNonces.map(([n]) => n) } } : {}),
    continued,
  };
}
