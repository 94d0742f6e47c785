/**
 * Messages of DeploymentWorkflow. Controls are Updates (callers get an answer
 * or a clear refusal); validators are pure functions of the status so they
 * can be reasoned about (and tested) without a server. A refused update is
 * not written to history.
 */
import { defineQuery, defineUpdate } from "@temporalio/workflow";
import { decisionLengthProblem, PHASES, type Phase } from "../../lib/deployment/types";
import type { SignedEnvelope } from "../../lib/signing/statements";
import { type DeploymentStatus, stepText } from "./state";

/**
 * Proof that `by` made this decision for this deployment: required where the
 * environment has signers (client/decisions.ts signs; signing.ts verifies).
 */
export interface SignedDecision extends SignedEnvelope {
  deploymentId: string;
}
export interface GateDecisionArgs {
  gate: string;
  by: string;
  reason: string;
  signed?: SignedDecision;
}
export interface ByReason {
  by: string;
  reason?: string;
  signed?: SignedDecision;
}
export interface CompensationControlArgs {
  by: string;
  reason?: string;
  signed?: SignedDecision;
  /** Which compensation; defaults to the one running now. */
  name?: string;
}
export interface ControlAnswer {
  accepted: true;
  message: string;
  phase: Phase;
}

export const statusQuery = defineQuery<DeploymentStatus>("status");
export const approveUpdate = defineUpdate<ControlAnswer, [GateDecisionArgs]>("approve");
export const rejectUpdate = defineUpdate<ControlAnswer, [GateDecisionArgs]>("reject");
export const abortUpdate = defineUpdate<ControlAnswer, [ByReason]>("abort");
export const pauseUpdate = defineUpdate<ControlAnswer, [ByReason]>("pause");
export const resumeUpdate = defineUpdate<ControlAnswer, [ByReason]>("resume");
export const promoteUpdate = defineUpdate<ControlAnswer, [ByReason]>("promote");
export const retryCompensationUpdate = defineUpdate<ControlAnswer, [CompensationControlArgs]>(
  "retryCompensation",
);
export const skipCompensationUpdate = defineUpdate<ControlAnswer, [CompensationControlArgs]>(
  "skipCompensation",
);

/** Where the deployment is, in words, for refusals. */
export function where(s: DeploymentStatus): string {
  return `the deployment is ${s.phase}, ${stepText(s)}`;
}

// The forward phases are the ones PHASES lists before "finalizing" (past that
// point there is no abort, pause or promote).
const FORWARD: readonly Phase[] = PHASES.slice(0, PHASES.indexOf("finalizing"));

function requireBy(args: { by?: unknown; reason?: unknown } | undefined): string | null {
  if (!args || typeof args.by !== "string" || args.by.trim() === "")
    return "`by` (who is asking) is required";
  return decisionLengthProblem(args);
}

function isRunningForward(s: DeploymentStatus, abortRequested: boolean): boolean {
  return s.outcome === null && !abortRequested && FORWARD.includes(s.phase);
}

export function validateGateDecision(
  s: DeploymentStatus,
  args: GateDecisionArgs | undefined,
  kind: "approve" | "reject",
): string | null {
  const missing = requireBy(args);
  if (missing) return missing;
  const a = args!;
  const pending = s.pendingApprovals[0];
  if (!pending) return `nothing is waiting for approval; ${where(s)}`;
  if (a.gate !== pending.gate)
    return `gate "${a.gate}" is not waiting; the pending gate is "${pending.gate}"`;
  if (pending.approvers.length > 0 && !pending.approvers.includes(a.by)) {
    return `${a.by} is not an approver for ${s.environment} (approvers: ${pending.approvers.join(", ")})`;
  }
  if (kind === "approve" && !pending.allowSelfApproval && a.by === s.requestedBy) {
    return `${a.by} started this deployment and ${s.environment} does not allow self-approval; ask another approver`;
  }
  return null;
}

export function validateAbort(
  s: DeploymentStatus,
  args: ByReason | undefined,
  abortRequested: boolean,
  finalizing = false,
): string | null {
  const missing = requireBy(args);
  if (missing) return missing;
  if (s.outcome !== null) return `the deployment has already ended: ${s.outcome}`;
  if (finalizing || s.phase === "finalizing") {
    return "the deployment is past the point of no return (blue is being decommissioned); deploy the previous version instead";
  }
  if (abortRequested || s.phase === "rolling-back" || s.phase === "needs-attention") {
    return `the deployment is already rolling back (${s.outcomeReason ?? "abort requested"})`;
  }
  return null;
}

export function validatePause(
  s: DeploymentStatus,
  args: ByReason | undefined,
  abortRequested: boolean,
): string | null {
  const missing = requireBy(args);
  if (missing) return missing;
  if (s.paused) return `already paused by ${s.paused.by} (${s.paused.reason}); ${where(s)}`;
  if (!isRunningForward(s, abortRequested) || s.phase === "keeping-previous") {
    return `nothing to pause; ${where(s)}`;
  }
  return null;
}

export function validateResume(s: DeploymentStatus, args: ByReason | undefined): string | null {
  const missing = requireBy(args);
  if (missing) return missing;
  if (!s.paused) return `the deployment is not paused; ${where(s)}`;
  return null;
}

export function validatePromote(
  s: DeploymentStatus,
  args: ByReason | undefined,
  abortRequested: boolean,
): string | null {
  const missing = requireBy(args);
  if (missing) return missing;
  if (!isRunningForward(s, abortRequested)) return `nothing to promote; ${where(s)}`;
  if (s.promotedBy) return `already promoted by ${s.promotedBy}`;
  if (s.analysis.status === "failed") return "the analysis failed; a failed analysis is never promoted";
  if (s.analysis.status === "paused" || s.paused) {
    return `the deployment is paused (${s.paused?.reason ?? "analysis paused"}); resume it first`;
  }
  if (s.phase === "post-promotion-watch" || s.phase === "keeping-previous") {
    return `traffic is already at 100%; ${where(s)}`;
  }
  return null;
}

export function validateCompensationControl(
  s: DeploymentStatus,
  args: CompensationControlArgs | undefined,
  kind: "retry" | "skip",
): string | null {
  const missing = requireBy(args);
  if (missing) return missing;
  const current = s.compensations.find((c) => c.status === "running" || c.status === "retrying");
  if (!current) return `no compensation is running; ${where(s)}`;
  if (args!.name && args!.name !== current.name) {
    return `compensation "${args!.name}" is not the one in progress ("${current.name}")`;
  }
  if (current.attempts === 0 || current.lastError === null) {
    return `compensation "${current.name}" has not failed; nothing to ${kind === "retry" ? "retry" : "skip"}`;
  }
  if (kind === "retry" && current.status === "running") {
    return `compensation "${current.name}" is running attempt ${current.attempts} right now`;
  }
  if (kind === "skip" && !(args!.reason && args!.reason.trim() !== "")) {
    return "skipping a compensation needs a reason (what was done by hand)";
  }
  return null;
}
