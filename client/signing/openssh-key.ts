/**
 * An OpenSSH private key file (`-----BEGIN OPENSSH PRIVATE KEY-----`, the
 * openssh-key-v1 format ssh-keygen writes), unencrypted ssh-ed25519, parsed in
 * process so `--key <file>` signs without a subprocess. A passphrase-protected
 * key is refused with the way out: load it into ssh-agent.
 *
 *   "openssh-key-v1\0" string(cipher) string(kdf) string(kdfoptions) uint32(n)
 *   string(public key)… string(private section: uint32 check ×2, per key:
 *   string(type) string(public 32) string(seed 32 ‖ public 32) string(comment), padding)
 */

import { type Ed25519PublicKey, publicKeyFromRaw } from "../../lib/signing/sshsig";
import { bytesEqual, fromBase64, fromUtf8, utf8, WireReader } from "../../lib/signing/wire";
import { SigningError } from "./errors";

const BEGIN = "-----BEGIN OPENSSH PRIVATE KEY-----";
const END = "-----END OPENSSH PRIVATE KEY-----";
const MAGIC = utf8("openssh-key-v1\0");

export interface Ed25519PrivateKey {
  seed: Uint8Array;
  publicKey: Ed25519PublicKey;
  comment: string;
}

export class KeyFileError extends SigningError {
  override name = "KeyFileError";
}

export function isOpenSshPrivateKey(text: string): boolean {
  return text.includes(BEGIN);
}

/** Parses the key; throws KeyFileError saying what is wrong and how to fix it (`where` names the file). */
export function parseOpenSshPrivateKey(text: string, where: string): Ed25519PrivateKey {
  const start = text.indexOf(BEGIN);
  const end = text.indexOf(END);
  if (start < 0 || end < start) throw new KeyFileError(`${where} is not an OpenSSH private key (${BEGIN})`);
  try {
    const r = new WireReader(fromBase64(text.slice(start + BEGIN.length, end)));
    if (!bytesEqual(r.raw(MAGIC.length, "magic"), MAGIC))
      throw new KeyFileError(`${where}: not openssh-key-v1`);
    const cipher = r.text("cipher name");
    r.text("kdf name");
    r.string("kdf options");
    if (cipher !== "none") {
      throw new KeyFileError(
        `${where} is protected by a passphrase: load it into ssh-agent (\`ssh-add ${where}\`) and sign through the agent (no --key, or --key ${where}.pub)`,
      );
    }
    if (r.uint32("key count") !== 1) throw new KeyFileError(`${where} holds more than one key`);
    r.string("public key");
    const p = new WireReader(r.string("private section"));
    const check = p.uint32("check");
    if (check !== p.uint32("check")) throw new KeyFileError(`${where} is corrupt (check bytes differ)`);
    const type = p.text("key type");
    if (type !== "ssh-ed25519") {
      throw new KeyFileError(
        `${where} is a ${type} key: Shipshape signs with ssh-ed25519 keys (ssh-keygen -t ed25519)`,
      );
    }
    const pub = p.string("public key");
    const secret = p.string("private key");
    const comment = fromUtf8(p.string("comment"));
    if (pub.length !== 32 || secret.length !== 64) throw new KeyFileError(`${where}: malformed ed25519 key`);
    return { seed: secret.slice(0, 32), publicKey: publicKeyFromRaw(pub.slice()), comment };
  } catch (e) {
    if (e instanceof KeyFileError) throw e;
    throw new KeyFileError(`${where} cannot be read as an OpenSSH key: ${(e as Error).message}`);
  }
}
