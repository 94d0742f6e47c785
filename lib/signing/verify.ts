/**
 * Verifying a signed request against a signers file: the signature is valid
 * over the statement, by a key the file lists for the actor, fresh, and not
 * seen before. Pure and deterministic (time comes from the caller): the
 * workflow's update validators call it.
 */
import { type SignerEntry, signerRefusal } from "./allowed-signers";
import { fingerprint, SHIPSHAPE_NAMESPACE, verifySignature } from "./sshsig";

/** A signature older than this is stale; it must be made for the decision at hand. */
export const MAX_SIGNATURE_AGE_MS = 10 * 60_000;
/** Clocks differ: a signature may be dated this far after the workflow's time. */
export const MAX_CLOCK_SKEW_MS = 2 * 60_000;

export interface VerifiedSignature {
  /** The verified identity: the actor, whose key the signers file lists. */
  identity: string;
  fingerprint: string;
  atMs: number;
}

export interface SignatureCheck {
  statement: string;
  actor: string;
  time: string;
  nonce: string;
  signature: string;
  signers: readonly SignerEntry[];
  nowMs: number;
  /** Nonces of decisions this deployment already accepted. */
  seenNonce: (nonce: string) => boolean;
}

export function checkSignature(c: SignatureCheck): VerifiedSignature | { refused: string } {
  const verified = verifySignature(c.signature, c.statement, SHIPSHAPE_NAMESPACE);
  if (!verified.ok) return { refused: verified.reason };
  const atMs = Date.parse(c.time);
  if (!Number.isFinite(atMs))
    return { refused: `the signing time ${JSON.stringify(c.time)} is not an ISO time` };
  const key = verified.signature.publicKey;
  const notSigner = signerRefusal(c.signers, c.actor, key, SHIPSHAPE_NAMESPACE, atMs);
  if (notSigner)
    return { refused: `the signature (key ${fingerprint(key)}) is not ${c.actor}'s: ${notSigner}` };
  if (c.nowMs - atMs > MAX_SIGNATURE_AGE_MS) {
    const minutes = Math.round((c.nowMs - atMs) / 60_000);
    return {
      refused: `the signature is stale: made ${c.time}, ${minutes} min ago (at most ${MAX_SIGNATURE_AGE_MS / 60_000} min); sign the decision again`,
    };
  }
  if (atMs - c.nowMs > MAX_CLOCK_SKEW_MS) {
    return {
      refused: `the signature is dated ${c.time}, in the future of the deployment's clock; check the signer's clock`,
    };
  }
  if (!/^[0-9a-f]{16,64}$/.test(c.nonce)) return { refused: "the nonce must be 16-64 lowercase hex digits" };
  if (c.seenNonce(c.nonce)) {
    return {
      refused: `the signature was already used (nonce ${c.nonce}): a replayed decision is refused; sign a new one`,
    };
  }
  return { identity: c.actor, fingerprint: fingerprint(key), atMs };
}
