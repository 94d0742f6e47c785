/**
 * Signed decisions inside the workflow. A start and every control update in
 * an environment with signers carries an SSH signature over its exact
 * statement (lib/signing/statements.ts); the signers file travels in the
 * input and the worker's policy pins it at preflight (activities/signing-policy.ts).
 * Verification is pure JavaScript, so validators refuse a forged, foreign,
 * stale or replayed decision before anything is written to history, and
 * four-eyes compares verified identities: the requester is the start's signer.
 */
import { ApplicationFailure, patched, workflowInfo } from "@temporalio/workflow";
import type { Environment } from "../../lib/config/schema";
import { migrationBundleOf } from "../../lib/deployment/migration-bundle";
import { type DeploymentInputParsed, FAILURE_TYPES, type SignedRecord } from "../../lib/deployment/types";
import { parseAllowedSigners, type SignerEntry } from "../../lib/signing/allowed-signers";
import { fingerprint, parseSignature, publicKeyLine } from "../../lib/signing/sshsig";
import {
  approvalsPolicy,
  type DecisionAction,
  decisionStatement,
  sha256Hex,
  startStatement,
} from "../../lib/signing/statements";
import { checkSignature } from "../../lib/signing/verify";
import type { SignedDecision } from "./messages";

/** What `status` says about signing (the CLI shows it; unsigned is said out loud). */
export interface SigningStatus {
  mode: "signed" | "unsigned";
  note: string;
  signersDigest: string | null;
  approvalsDigest: string | null;
  /** Confirmed by the worker's pinned policy at preflight; null until then. */
  pinned: boolean | null;
  requester: { identity: string; fingerprint: string } | null;
  signers: Array<{ principals: string[]; key: string; fingerprint: string }>;
}

/** Decisions that move a deployment on are confirmed against the worker's current policy too. */
export const RECONFIRMED: readonly DecisionAction[] = ["approve", "promote", "resume", "skip-compensation"];

export class RunSigning {
  constructor(
    readonly status: SigningStatus,
    readonly entries: SignerEntry[],
    /** nonce → when it was signed; every accepted signature's nonce. */
    readonly usedNonces: Map<string, number>,
    /** The start's statement and signature, for the decision log. */
    readonly startRecord: SignedRecord | null = null,
  ) {}

  get required(): boolean {
    return this.status.mode === "signed";
  }

  /** A run without the "signed-decisions" patch: names taken as given. */
  static legacy(): RunSigning {
    return unsigned("this environment", null);
  }
}

function refuseStart(why: string): never {
  throw ApplicationFailure.nonRetryable(`the start is refused: ${why}`, FAILURE_TYPES.signatureRefused);
}

/** Verifies the start (throws a non-retryable SignatureRefused) and returns the run's signing state. */
export function signingFromInput(
  input: DeploymentInputParsed,
  envConfig: Environment,
  deploymentId: string,
  nowMs: number,
): RunSigning {
  const approvals = envConfig.approvals;
  const approvalsDigest = approvals ? sha256Hex(approvalsPolicy(approvals)) : null;
  const s = input.signing;
  if (!s) {
    if (approvals?.signers) {
      refuseStart(
        `environment ${input.environment} has signers (approvals.signers), so its deployments must be signed: deploy with --key <file> or a key in ssh-agent`,
      );
    }
    return unsigned(input.environment, approvalsDigest);
  }
  if (!input.deploymentId) refuseStart("a signed start must name its deployment id");
  const parsed = parseAllowedSigners(s.signers);
  if (parsed.problems.length > 0) {
    refuseStart(
      `the signers file is invalid: ${parsed.problems.map((p) => `line ${p.line}: ${p.message}`).join("; ")}`,
    );
  }
  const signersDigest = sha256Hex(s.signers);
  const statement = startStatement({
    workflowId: workflowInfo().workflowId,
    deploymentId,
    service: input.service,
    environment: input.environment,
    version: input.version,
    artifact: input.artifact,
    artifactDigest: s.artifactDigest,
    configDigest: sha256Hex(input.config),
    migrationsDigest: s.migrationsDigest,
    signersDigest,
    approvalsDigest: approvalsDigest ?? "",
    actor: input.requestedBy,
    reason: input.reason,
    time: s.time,
    nonce: s.nonce,
  });
  const used = new Map(s.usedNonces.map((n) => [n, 0]));
  // A continue-as-new carries the original start: its signature still counts, its age does not.
  const continued = Boolean(workflowInfo().continuedFromExecutionRunId);
  const verified = checkSignature({
    statement,
    actor: input.requestedBy,
    time: s.time,
    nonce: s.nonce,
    signature: s.signature,
    signers: parsed.entries,
    nowMs: continued ? Date.parse(s.time) : nowMs,
    seenNonce: (n) => !continued && used.has(n),
  });
  if ("refused" in verified) refuseStart(verified.refused);
  if (patched("signed-digests-match-input")) refuseUnsignedContent(input, s);
  used.set(s.nonce, verified.atMs);
  return new RunSigning(
    {
      mode: "signed",
      note: `decisions must be signed by a key in the signers file (sha256 ${signersDigest.slice(0, 12)}…)`,
      signersDigest,
      approvalsDigest,
      pinned: null,
      requester: { identity: verified.identity, fingerprint: verified.fingerprint },
      signers: parsed.entries.map((e) => ({
        principals: e.principals,
        key: publicKeyLine(e.key),
        fingerprint: fingerprint(e.key),
      })),
    },
    parsed.entries,
    used,
    { fingerprint: verified.fingerprint, statement, signature: s.signature },
  );
}

/**
 * The signature covers the digests the starter declared; what runs is what
 * the input carries. So the worker recomputes the migrations' digests from
 * the files' text (pure JS) and requires the artifact digest the worker will
 * stage under (preflight refuses other content) to be the signed one: a start
 * whose input was altered after signing is refused, not run.
 */
function refuseUnsignedContent(
  input: DeploymentInputParsed,
  s: NonNullable<DeploymentInputParsed["signing"]>,
): void {
  if (input.artifactDigest !== undefined && input.artifactDigest !== s.artifactDigest) {
    refuseStart(
      `the artifact digest in the input (${input.artifactDigest.slice(0, 19)}…) is not the one signed (${s.artifactDigest.slice(0, 19) || "none"}…): the input was altered after signing`,
    );
  }
  if (!input.migrations) return;
  const recomputed = migrationBundleOf(input.migrations.files);
  input.migrations.files.forEach((f, i) => {
    if (recomputed.files[i]?.sha256 !== f.sha256) {
      refuseStart(`migration ${f.file} does not match its digest: the input was altered after signing`);
    }
  });
  const { digest } = recomputed;
  if (digest !== input.migrations.digest || digest !== s.migrationsDigest) {
    refuseStart(
      `the migrations in the input (sha256 ${digest.slice(0, 12)}…) are not the ones signed (${s.migrationsDigest.slice(0, 12) || "none"}…): the input was altered after signing`,
    );
  }
}

function unsigned(environment: string, approvalsDigest: string | null): RunSigning {
  return new RunSigning(
    {
      mode: "unsigned",
      note: `UNSIGNED: ${environment} has no signers file, so names are taken as given and anyone who can write to the namespace can approve or steer (development only)`,
      signersDigest: null,
      approvalsDigest,
      pinned: null,
      requester: null,
      signers: [],
    },
    [],
    new Map(),
  );
}

export interface SignableArgs {
  by: string;
  reason?: string;
  signed?: SignedDecision;
}

function statementOf(deploymentId: string, action: DecisionAction, subject: string, a: SignableArgs) {
  const signed = a.signed as SignedDecision;
  return decisionStatement({
    deploymentId,
    action,
    subject,
    actor: a.by,
    reason: a.reason ?? "",
    time: signed.time,
    nonce: signed.nonce,
  });
}

/** Why a decision's signature is refused, or null (always null where the run is unsigned). */
export function decisionRefusal(
  signing: RunSigning,
  deploymentId: string,
  nowMs: number,
  action: DecisionAction,
  subject: string,
  a: SignableArgs | undefined,
): string | null {
  if (!signing.required) return null;
  if (!a || typeof a.by !== "string") return "`by` (who is asking) is required";
  const signed = a.signed;
  if (!signed || typeof signed.signature !== "string") {
    return `this deployment requires signed decisions: sign the ${action} (\`shipshape ${action} … --key <file>\`, or a key in ssh-agent)`;
  }
  if (signed.deploymentId !== deploymentId) {
    return `the signature is for deployment ${signed.deploymentId}, not this one (${deploymentId}): a signed decision counts for one deployment only`;
  }
  const verified = checkSignature({
    statement: statementOf(deploymentId, action, subject, a),
    actor: a.by,
    time: signed.time,
    nonce: signed.nonce,
    signature: signed.signature,
    signers: signing.entries,
    nowMs,
    seenNonce: (n) => signing.usedNonces.has(n),
  });
  return "refused" in verified ? verified.refused : null;
}

/** For an accepted decision: remembers its nonce and returns the record the decision log keeps. */
export function acceptSigned(
  signing: RunSigning,
  deploymentId: string,
  action: DecisionAction,
  subject: string,
  a: SignableArgs,
): SignedRecord | undefined {
  if (!signing.required || !a.signed) return undefined;
  signing.usedNonces.set(a.signed.nonce, Date.parse(a.signed.time));
  return {
    fingerprint: fingerprint(parseSignature(a.signed.signature).publicKey),
    statement: statementOf(deploymentId, action, subject, a),
    signature: a.signed.signature,
  };
}

/** The signer's key, as the worker's policy check needs it. */
export function signerKey(a: SignableArgs): string {
  return a.signed ? publicKeyLine(parseSignature(a.signed.signature).publicKey) : "";
}
