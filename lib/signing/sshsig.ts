/**
 * SSH signatures (OpenSSH's PROTOCOL.sshsig), the format of `ssh-keygen -Y
 * sign` / `-Y verify`, for ssh-ed25519 keys. Pure JavaScript (@noble/curves,
 * @noble/hashes) so the workflow's update validators verify signatures
 * deterministically inside the sandbox.
 *
 *   armored:     -----BEGIN SSH SIGNATURE----- base64(blob) -----END SSH SIGNATURE-----
 *   blob:        "SSHSIG" uint32(1) string(publickey) string(namespace) string(reserved)
 *                string(hash_algorithm) string(signature)
 *   signed data: "SSHSIG" string(namespace) string(reserved) string(hash_algorithm) string(H(message))
 */
import { ed25519 } from "@noble/curves/ed25519";
import { sha256, sha512 } from "@noble/hashes/sha2";
import {
  bytesEqual,
  concatBytes,
  fromBase64,
  sshString,
  toBase64,
  uint32,
  utf8,
  WireError,
  WireReader,
} from "./wire";

/** The namespace every Shipshape signature is made in (`ssh-keygen -Y sign -n shipshape`). */
export const SHIPSHAPE_NAMESPACE = "shipshape";
export const ED25519 = "ssh-ed25519";

const MAGIC = utf8("SSHSIG");
const BEGIN = "-----BEGIN SSH SIGNATURE-----";
const END = "-----END SSH SIGNATURE-----";
const HASHES = { sha512, sha256 } as const;
type HashName = keyof typeof HASHES;

/** An ssh-ed25519 public key: the 32 raw bytes and the wire blob (what allowed-signers lines carry in base64). */
export interface Ed25519PublicKey {
  raw: Uint8Array;
  blob: Uint8Array;
}

export interface ParsedSignature {
  publicKey: Ed25519PublicKey;
  namespace: string;
  hashAlgorithm: HashName;
  signature: Uint8Array;
}

export function publicKeyFromRaw(raw: Uint8Array): Ed25519PublicKey {
  return { raw, blob: concatBytes(sshString(ED25519), sshString(raw)) };
}

/** An ssh-ed25519 public key from its wire blob; throws WireError for any other key type. */
export function publicKeyFromBlob(blob: Uint8Array): Ed25519PublicKey {
  const r = new WireReader(blob);
  const type = r.text("key type");
  if (type !== ED25519) throw new WireError(`key type ${type} is not supported (only ${ED25519})`);
  const raw = r.string("ed25519 public key");
  if (raw.length !== 32 || r.remaining !== 0) throw new WireError("the ed25519 public key is malformed");
  return { raw, blob };
}

/** "SHA256:…", as `ssh-keygen -l` prints it. */
export function fingerprint(key: Ed25519PublicKey): string {
  return `SHA256:${toBase64(sha256(key.blob), false)}`;
}

/** "ssh-ed25519 AAAA…", as in an authorized_keys or allowed_signers line. */
export function publicKeyLine(key: Ed25519PublicKey): string {
  return `${ED25519} ${toBase64(key.blob)}`;
}

/** What the key actually signs for `message` in `namespace` (sha512, as ssh-keygen does). */
export function signedData(message: Uint8Array, namespace: string, hash: HashName = "sha512"): Uint8Array {
  return concatBytes(
    MAGIC,
    sshString(namespace),
    sshString(""),
    sshString(hash),
    sshString(HASHES[hash](message)),
  );
}

/** The armored signature around a raw ed25519 signature of signedData(message, namespace). */
export function armorSignature(key: Ed25519PublicKey, signature: Uint8Array, namespace: string): string {
  const blob = concatBytes(
    MAGIC,
    uint32(1),
    sshString(key.blob),
    sshString(namespace),
    sshString(""),
    sshString("sha512"),
    sshString(concatBytes(sshString(ED25519), sshString(signature))),
  );
  const lines = toBase64(blob).match(/.{1,70}/g) ?? [];
  return `${BEGIN}\n${lines.join("\n")}\n${END}\n`;
}

/** Parses an armored SSH signature; throws WireError saying what is wrong with it. */
export function parseSignature(armored: string): ParsedSignature {
  const text = armored.trim();
  if (!text.startsWith(BEGIN) || !text.endsWith(END)) {
    throw new WireError(`not an SSH signature (expected "${BEGIN}" … "${END}")`);
  }
  const r = new WireReader(fromBase64(text.slice(BEGIN.length, text.length - END.length)));
  if (!bytesEqual(r.raw(6, "magic"), MAGIC))
    throw new WireError('the signature does not start with "SSHSIG"');
  const version = r.uint32("version");
  if (version !== 1) throw new WireError(`signature version ${version} is not supported (only 1)`);
  const publicKey = publicKeyFromBlob(r.string("public key"));
  const namespace = r.text("namespace");
  r.string("reserved");
  const hash = r.text("hash algorithm");
  if (hash !== "sha512" && hash !== "sha256") throw new WireError(`hash algorithm ${hash} is not supported`);
  const sig = new WireReader(r.string("signature"));
  const sigType = sig.text("signature type");
  if (sigType !== ED25519)
    throw new WireError(`signature type ${sigType} is not supported (only ${ED25519})`);
  const signature = sig.string("ed25519 signature");
  if (signature.length !== 64) throw new WireError("the ed25519 signature is malformed");
  return { publicKey, namespace, hashAlgorithm: hash, signature };
}

export type VerifyResult = { ok: true; signature: ParsedSignature } | { ok: false; reason: string };

/** Checks the armored signature over `message` in `namespace` (who signed is for the caller to decide). */
export function verifySignature(armored: string, message: string, namespace: string): VerifyResult {
  let parsed: ParsedSignature;
  try {
    parsed = parseSignature(armored);
  } catch (e) {
    return { ok: false, reason: `the signature cannot be read: ${(e as Error).message}` };
  }
  if (parsed.namespace !== namespace) {
    return {
      ok: false,
      reason: `the signature is for namespace "${parsed.namespace}", not "${namespace}" (sign with -n ${namespace})`,
    };
  }
  const data = signedData(utf8(message), namespace, parsed.hashAlgorithm);
  let valid = false;
  try {
    valid = ed25519.verify(parsed.signature, data, parsed.publicKey.raw, { zip215: false });
  } catch {
    valid = false;
  }
  if (!valid)
    return {
      ok: false,
      reason: "the signature does not match the signed decision (altered or made for another one)",
    };
  return { ok: true, signature: parsed };
}
