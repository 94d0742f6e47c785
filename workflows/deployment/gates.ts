/**
 * Approval gates: the deployment waits for an approve or reject update from a
 * listed approver, up to the environment's approvals timeout; a rejection or a
 * timeout rolls back.
 */
import { condition } from "@temporalio/workflow";
import { type Approvals, ApprovalsSchema } from "../../lib/config/schema";
import { type DeploymentRun, now, StopDeployment } from "./run";

/**
 * An environment without an approvals section still honours gates in its
 * release plan: anyone may decide, with the schema's defaults for the rest.
 * (Parsing `{ approvers: [] }` through the whole schema would fail: an
 * approvals section that is written down must name its approvers.)
 */
const { allowSelfApproval, timeout, onTimeout } = ApprovalsSchema.shape;
const ANYONE_MAY_APPROVE: Approvals = {
  approvers: [],
  allowSelfApproval: allowSelfApproval.parse(undefined),
  timeout: timeout.parse(undefined),
  onTimeout: onTimeout.parse(undefined),
};

/** Waits at gate `gate`; returns when approved, throws StopDeployment when rejected or timed out. */
export async function awaitApproval(run: DeploymentRun, gate: string): Promise<void> {
  const approvals = run.envConfig.approvals ?? ANYONE_MAY_APPROVE;
  run.phase("awaiting-approval");
  openGate(run, gate, approvals);
  const text = `${run.label}: gate ${gate} waits for ${approvals.approvers.join(", ") || "an approver"}`;
  run.emit("approval-requested", text, { gate, approvers: approvals.approvers });
  await run.legacyNotify("awaiting-approval", text);
  const decided = await condition(() => run.gateDecision !== null, approvals.timeout);
  run.status.pendingApprovals = [];
  if (!decided) {
    const why = `approval gate ${gate} timed out after ${approvals.timeout / 60_000} min (onTimeout: ${approvals.onTimeout})`;
    run.decide({ kind: "approval-timeout", by: "shipshape", reason: why });
    throw new StopDeployment(why, "approval-timeout");
  }
  const decision = run.gateDecision;
  if (decision)
    run.emit(
      decision.kind === "approve" ? "approved" : "rejected",
      `${run.label}: gate ${gate} ${decision.kind === "approve" ? "approved" : "rejected"} by ${decision.by}: ${decision.reason}`,
      { gate, by: decision.by, reason: decision.reason },
    );
  if (decision?.kind === "reject")
    throw new StopDeployment(`gate ${gate} rejected by ${decision.by}: ${decision.reason}`, "reject");
}

/** Forgets the previous gate's decision and shows this gate as pending (the validators check against it). */
function openGate(run: DeploymentRun, gate: string, approvals: Approvals): void {
  const sinceMs = now();
  run.gateDecision = null;
  run.status.pendingApprovals = [
    {
      gate,
      sinceMs,
      timeoutAtMs: sinceMs + approvals.timeout,
      approvers: approvals.approvers,
      allowSelfApproval: approvals.allowSelfApproval,
    },
  ];
  run.refresh();
}
