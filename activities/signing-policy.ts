import { ApplicationFailure } from "@temporalio/activity";
import { FAILURE_TYPES } from "../lib/deployment/types";
import { parseAllowedSigners, signerRefusal } from "../lib/signing/allowed-signers";
import type { PinnedPolicy, SigningPolicyStore } from "../lib/signing/policy-dir";
import { publicKeyFromBlob, SHIPSHAPE_NAMESPACE } from "../lib/signing/sshsig";
import { approvalsPolicy, sha256Hex } from "../lib/signing/statements";
import { fromBase64 } from "../lib/signing/wire";

export interface SigningPolicyDeps {
  /** The worker's pinned policy (--policy); null or absent: the worker pins nothing. */
  signingPolicy?: SigningPolicyStore | null;
}

export interface ConfirmPolicyInput {
  service: string;
  environment: string;
  /** Of the start (null: an unsigned start). */
  signersDigest: string | null;
  approvalsDigest: string | null;
  /** A decision to confirm against the policy as it is now (its signer may have been revoked since the start). */
  decision?: { action: string; actor: string; key: string };
}

export interface ConfirmPolicyResult {
  pinned: boolean;
  source: string | null;
}

const mismatch = (why: string) => ApplicationFailure.nonRetryable(why, FAILURE_TYPES.policyMismatch);

/**
 * The worker is the trust root: a start is accepted only with the signers
 * file (and approvals policy, when pinned) that this worker's policy holds for
 * the service and environment, and a decision only while its signer is still
 * in it. Read-only, so idempotent; a mismatch is non-retryable.
 */
export function createSigningPolicyActivities(deps: SigningPolicyDeps) {
  return {
    async confirmSigningPolicy(input: ConfirmPolicyInput): Promise<ConfirmPolicyResult> {
      const scope = `${input.service}/${input.environment}`;
      const pinned = deps.signingPolicy
        ? await deps.signingPolicy.lookup(input.service, input.environment)
        : null;
      if (!pinned) {
        if (input.signersDigest === null) return { pinned: false, source: null };
        throw mismatch(
          `this worker pins no signers for ${scope}, so a signers file brought by the starter cannot be trusted: start the worker with --policy <dir> holding ${scope}/allowed_signers`,
        );
      }
      if (input.signersDigest === null) {
        throw mismatch(
          `${scope} requires signed deployments (the worker pins ${pinned.signersFile}); this start is unsigned`,
        );
      }
      // A decision is checked against the policy as it is now, key by key: an
      // edit elsewhere in the file does not stop running deployments.
      if (input.decision) {
        checkDecision(pinned, input.decision, scope);
        return { pinned: true, source: pinned.signersFile };
      }
      const pinnedDigest = sha256Hex(pinned.signers);
      if (pinnedDigest !== input.signersDigest) {
        throw mismatch(
          `the start's signers file (sha256 ${input.signersDigest.slice(0, 12)}…) is not the one this worker pins for ${scope} (${pinned.signersFile}, sha256 ${pinnedDigest.slice(0, 12)}…): a foreign signers file is refused`,
        );
      }
      checkApprovals(pinned, input, scope);
      return { pinned: true, source: pinned.signersFile };
    },
  };
}

function checkApprovals(pinned: PinnedPolicy, input: ConfirmPolicyInput, scope: string): void {
  if (!pinned.approvals) return;
  const want = sha256Hex(approvalsPolicy(pinned.approvals));
  if (want !== input.approvalsDigest) {
    const p = pinned.approvals;
    throw mismatch(
      `the approvals policy of ${scope} changed or differs from the one this worker pins (${pinned.approvalsFile}: approvers ${p.approvers.join(", ")}, allowSelfApproval ${p.allowSelfApproval}, timeout ${p.timeout / 60_000} min, onTimeout ${p.onTimeout})`,
    );
  }
}

function checkDecision(
  pinned: PinnedPolicy,
  d: NonNullable<ConfirmPolicyInput["decision"]>,
  scope: string,
): void {
  const [, base64 = ""] = d.key.split(/\s+/);
  const refusal = signerRefusal(
    parseAllowedSigners(pinned.signers).entries,
    d.actor,
    publicKeyFromBlob(fromBase64(base64)),
    SHIPSHAPE_NAMESPACE,
    Date.now(),
  );
  if (refusal) {
    throw mismatch(
      `${d.actor}'s ${d.action} is refused by the worker's current policy for ${scope} (${pinned.signersFile} changed since the start): ${refusal}`,
    );
  }
  if (d.action === "approve" && pinned.approvals && !pinned.approvals.approvers.includes(d.actor)) {
    throw mismatch(`${d.actor} is no longer an approver for ${scope} (${pinned.approvalsFile})`);
  }
}
