/**
 * Rollback: why the forward path stopped, recorded once as a decision, then
 * every registered compensation in saga order (traffic first), non-cancellably.
 * Runs outside the forward scope, so a cancelled workflow still rolls back.
 */
import { CancellationScope, isCancellation, log } from "@temporalio/workflow";
import type { DeploymentResult } from "../../lib/deployment/types";
import type { NotificationDetails } from "../../lib/notifications/payload";
import { postRolloutHooks } from "./hooks";
import { type DeploymentRun, StopDeployment } from "./run";
import { errorText } from "./saga";
import { clip } from "./state";

export async function rollback(run: DeploymentRun, err: unknown): Promise<DeploymentResult> {
  const { status } = run;
  const reason = stopReason(run, err);
  recordStop(run, err, reason);
  status.outcomeReason = clip(reason);
  status.paused = null;
  status.pendingApprovals = [];
  run.phase("rolling-back");
  log.warn("rolling back", { reason });
  run.ran.push(...(await run.saga.compensate(run.reliableHooks)));
  await postRolloutHooks(run, "rolled-back", reason);
  const skipped = status.compensations
    .filter((c) => c.status === "skipped")
    .map((c) => `${c.name} (by ${c.skippedBy})`);
  const outcomeReason =
    skipped.length > 0 ? `${reason}; skipped compensations: ${skipped.join(", ")}` : reason;
  run.emit("rolled-back", `${run.label} rolled back: ${reason}`, {
    reason: clip(outcomeReason),
    trippingMetric: err instanceof StopDeployment && err.kind === "analysis" ? trippingMetric(run) : null,
  });
  await CancellationScope.nonCancellable(() =>
    run.legacyNotify("rolled-back", `${run.label} rolled back: ${reason}`),
  );
  return run.finish("rolled-back", outcomeReason);
}

/** The metric whose failure stopped the deployment: the failing verdict's metric, with its latest numbers. */
function trippingMetric(run: DeploymentRun): NotificationDetails["trippingMetric"] {
  const verdict = [...run.status.analysis.verdicts].reverse().find((v) => v.decision === "fail");
  if (!verdict?.metric) return null;
  const result = run.status.analysis.latest?.results.find((r) => r.metric === verdict.metric);
  return {
    metric: verdict.metric,
    value: result?.value ?? null,
    threshold: result?.threshold ?? "",
    line: verdict.line,
  };
}

/** An abort update wins over the cancellation it caused; a StopDeployment carries its own reason. */
function stopReason(run: DeploymentRun, err: unknown): string {
  const abort = run.abortRequest;
  if (abort !== null) return `aborted by ${abort.by}: ${abort.reason}`;
  if (isCancellation(err)) return "workflow cancelled: abort and roll back";
  if (err instanceof StopDeployment) return err.message;
  return `${run.status.phase} failed: ${errorText(err)}`;
}

/**
 * The decision behind the stop, unless the code that stopped has recorded it
 * already (abort, reject and approval timeout record their own).
 */
function recordStop(run: DeploymentRun, err: unknown, reason: string): void {
  if (isCancellation(err) && run.abortRequest === null)
    run.decide({ kind: "cancel", by: "temporal", reason });
  else if (!(err instanceof StopDeployment) && !isCancellation(err))
    run.decide({ kind: "failure", by: "shipshape", reason });
  else if (err instanceof StopDeployment && err.kind === "analysis")
    run.decide({ kind: "analysis", by: "analysis", reason });
}
