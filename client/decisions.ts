/**
 * Steering a deployment: the arguments of a control update, signed when the
 * deployment requires it. Used by the CLI's control commands, the demo and
 * tests. For a signed deployment the actor is the principal the signers file
 * lists for the signing key (client/signing/signer.ts).
 */
import { randomBytes } from "node:crypto";
import type { WorkflowHandle } from "@temporalio/client";
import type { UpdateDefinition } from "@temporalio/common";
import { type DecisionAction, decisionStatement } from "../lib/signing/statements";
import {
  abortUpdate,
  approveUpdate,
  type ControlAnswer,
  pauseUpdate,
  promoteUpdate,
  rejectUpdate,
  resumeUpdate,
  retryCompensationUpdate,
  type SignedDecision,
  skipCompensationUpdate,
  statusQuery,
} from "../workflows/deployment/messages";
import type { DeploymentStatus } from "../workflows/deployment/state";
import { chooseSigner, type Signer } from "./signing/signer";

// biome-ignore lint/suspicious/noExplicitAny: each update takes its own argument shape
export const DECISION_UPDATES: Record<DecisionAction, UpdateDefinition<ControlAnswer, [any]>> = {
  approve: approveUpdate,
  reject: rejectUpdate,
  abort: abortUpdate,
  pause: pauseUpdate,
  resume: resumeUpdate,
  promote: promoteUpdate,
  "retry-compensation": retryCompensationUpdate,
  "skip-compensation": skipCompensationUpdate,
};

export interface DecisionOptions {
  /** Who (unsigned deployments: required; signed: the principal of the key, --as picks among several). */
  by?: string;
  reason?: string;
  /** approve / reject: defaults to the gate waiting. */
  gate?: string;
  /** retry / skip compensation: defaults to the one in progress. */
  name?: string;
  /** A private key file, or a .pub naming the ssh-agent key; default: the agent's listed key. */
  keyFile?: string;
  agentSocket?: string;
}

export interface DecisionArgs {
  by: string;
  reason: string;
  gate?: string;
  name?: string;
  signed?: SignedDecision;
}

/** The signed statement for one decision: fresh time and nonce, so it counts once. */
export async function signDecision(
  signer: Signer,
  f: { deploymentId: string; action: DecisionAction; subject: string; actor: string; reason: string },
): Promise<SignedDecision> {
  const time = new Date().toISOString();
  const nonce = randomBytes(16).toString("hex");
  const signature = await signer.sign(decisionStatement({ ...f, time, nonce }));
  return { deploymentId: f.deploymentId, time, nonce, signature };
}

/** The deployment's signers as an allowed-signers text (from its status). */
export function signersText(status: DeploymentStatus): string {
  return (status.signing?.signers ?? []).map((s) => `${s.principals.join(",")} ${s.key}`).join("\n");
}

/** The update arguments for `action` on the deployment as it is now, signed when it requires signatures. */
export async function decisionArgs(
  status: DeploymentStatus,
  action: DecisionAction,
  o: DecisionOptions,
): Promise<DecisionArgs> {
  const gated = action === "approve" || action === "reject";
  const compensation = action === "retry-compensation" || action === "skip-compensation";
  const gate = gated ? (o.gate ?? status.pendingApprovals[0]?.gate ?? "(none)") : undefined;
  const inProgress = status.compensations.find((c) => c.status === "running" || c.status === "retrying");
  const name = compensation ? (o.name ?? inProgress?.name) : undefined;
  const base = { reason: o.reason ?? "", ...(gate ? { gate } : {}), ...(name ? { name } : {}) };
  if (status.signing?.mode !== "signed") {
    if (!o.by) throw new Error("who is deciding (`by`) is required");
    return { by: o.by, ...base };
  }
  const { signer, actor } = await chooseSigner({
    signers: signersText(status),
    ...(o.keyFile ? { keyFile: o.keyFile } : {}),
    ...(o.by ? { actor: o.by } : {}),
    ...(o.agentSocket ? { agentSocket: o.agentSocket } : {}),
  });
  const signed = await signDecision(signer, {
    deploymentId: status.deploymentId,
    action,
    subject: gate ?? name ?? "",
    actor,
    reason: base.reason,
  });
  return { by: actor, ...base, signed };
}

/** Sends one decision; the update's refusal (WorkflowUpdateFailedError) says why it was refused. */
export async function sendDecision(
  handle: WorkflowHandle,
  action: DecisionAction,
  o: DecisionOptions,
): Promise<ControlAnswer> {
  const status = await handle.query(statusQuery);
  const args = await decisionArgs(status, action, o);
  return handle.executeUpdate(DECISION_UPDATES[action], { args: [args] });
}
