/**
 * What a signature covers: the exact text of a start or a decision, one line
 * of canonical JSON (sorted keys). The CLI signs it, the workflow rebuilds it
 * from the request and verifies; the decision log keeps it beside the
 * signature, so anyone can check a decision by hand:
 *
 *   printf '%s' "$STATEMENT" | ssh-keygen -Y verify -f allowed_signers -I bob -n shipshape -s decision.sig
 */
import { sha256 } from "@noble/hashes/sha2";
import { bytesToHex } from "@noble/hashes/utils";
import { canonicalJson } from "../config/canonical-json";
import { utf8 } from "./wire";

export const DECISION_ACTIONS = [
  "approve",
  "reject",
  "abort",
  "pause",
  "resume",
  "promote",
  "retry-compensation",
  "skip-compensation",
] as const;
export type DecisionAction = (typeof DECISION_ACTIONS)[number];

/** Proof of who asked and when; a nonce makes every signature usable once. */
export interface SignedEnvelope {
  /** ISO-8601 time of signing (stale signatures are refused). */
  time: string;
  nonce: string;
  /** Armored SSH signature (namespace "shipshape") over the statement. */
  signature: string;
}

export interface DecisionFields {
  /** The deployment's id (fixed at start; not the run id, not the workflow id). */
  deploymentId: string;
  action: DecisionAction;
  /** The gate (approve / reject), the compensation (retry / skip), "" for the whole deployment. */
  subject: string;
  actor: string;
  reason: string;
  time: string;
  nonce: string;
}

export function decisionStatement(f: DecisionFields): string {
  return canonicalJson({ type: "shipshape/decision@1", ...f });
}

export interface StartFields {
  workflowId: string;
  deploymentId: string;
  service: string;
  environment: string;
  version: string;
  artifact: string;
  /** sha256 of what is deployed ("" when the artifact is not a local file or folder). */
  artifactDigest: string;
  /** sha256 of the normalized release config. */
  configDigest: string;
  /** sha256 of the migration files ("" without a database section). */
  migrationsDigest: string;
  /** sha256 of the signers file the decisions are checked against. */
  signersDigest: string;
  /** sha256 of the environment's approvals policy (approvers, self-approval, timeout). */
  approvalsDigest: string;
  actor: string;
  reason: string;
  time: string;
  nonce: string;
}

export function startStatement(f: StartFields): string {
  return canonicalJson({ type: "shipshape/start@1", ...f });
}

/** sha256 (hex) of a text or of a value's canonical JSON: the digests statements carry. */
export function sha256Hex(value: unknown): string {
  return bytesToHex(sha256(utf8(typeof value === "string" ? value : canonicalJson(value))));
}

/** The part of an environment's approvals that is policy (not where the signers file lies). */
export function approvalsPolicy(approvals: {
  approvers: string[];
  allowSelfApproval: boolean;
  timeout: number;
  onTimeout: string;
}): Record<string, unknown> {
  const { approvers, allowSelfApproval, timeout, onTimeout } = approvals;
  return { approvers: [...approvers].sort(), allowSelfApproval, timeout, onTimeout };
}
