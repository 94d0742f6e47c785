/**
 * Who signs: a key file (`--key <file>`: an unencrypted OpenSSH ed25519
 * private key, signed in process; or a `.pub` file naming which ssh-agent key
 * to use), else the ssh-agent at $SSH_AUTH_SOCK. The actor is the principal
 * the signers file lists for that key (`--as` picks one when it lists several).
 */

import fs from "node:fs";
import { ed25519 } from "@noble/curves/ed25519";
import { parseAllowedSigners, principalsOf, type SignerEntry } from "../../lib/signing/allowed-signers";
import {
  armorSignature,
  type Ed25519PublicKey,
  fingerprint,
  publicKeyFromBlob,
  SHIPSHAPE_NAMESPACE,
  signedData,
} from "../../lib/signing/sshsig";
import { bytesEqual, fromBase64, utf8 } from "../../lib/signing/wire";
import { SigningError } from "./errors";
import { isOpenSshPrivateKey, parseOpenSshPrivateKey } from "./openssh-key";
import { agentKeys, agentSign } from "./ssh-agent";

export interface Signer {
  publicKey: Ed25519PublicKey;
  /** For messages: "key file …" / "ssh-agent key …". */
  source: string;
  /** The armored SSH signature (namespace shipshape) of `message`. */
  sign(message: string): Promise<string>;
}

export class SignerError extends SigningError {
  override name = "SignerError";
}

export function keyFileSigner(file: string): Signer {
  const key = parseOpenSshPrivateKey(readKeyFile(file), file);
  return {
    publicKey: key.publicKey,
    source: `key file ${file}`,
    async sign(message) {
      const raw = ed25519.sign(signedData(utf8(message), SHIPSHAPE_NAMESPACE), key.seed);
      return armorSignature(key.publicKey, raw, SHIPSHAPE_NAMESPACE);
    },
  };
}

export function agentSigner(socket: string, publicKey: Ed25519PublicKey, comment: string): Signer {
  return {
    publicKey,
    source: `ssh-agent key ${comment || fingerprint(publicKey)}`,
    async sign(message) {
      const raw = await agentSign(socket, publicKey, signedData(utf8(message), SHIPSHAPE_NAMESPACE));
      return armorSignature(publicKey, raw, SHIPSHAPE_NAMESPACE);
    },
  };
}

function readKeyFile(file: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new SignerError(`cannot read key file ${file}: ${(e as Error).message}`);
  }
}

export interface SignerChoice {
  /** --key: a private key file, or a public key file naming the agent key to use. */
  keyFile?: string;
  /** The allowed-signers text the signature must satisfy. */
  signers: string;
  /** --as: the principal to sign as, when the key is listed for several. */
  actor?: string;
  /** Default process.env.SSH_AUTH_SOCK. */
  agentSocket?: string;
}

/** The signer and the actor it signs as; a SignerError says what is missing and how to fix it. */
export async function chooseSigner(choice: SignerChoice): Promise<{ signer: Signer; actor: string }> {
  const entries = parseAllowedSigners(choice.signers).entries;
  const signer = await openSigner(choice, entries);
  const names = principalsOf(entries, signer.publicKey);
  const fp = fingerprint(signer.publicKey);
  if (names.length === 0) {
    throw new SignerError(
      `the ${signer.source} (${fp}) is not in the deployment's signers file: ask to be added, or use your listed key`,
    );
  }
  if (choice.actor && !names.includes(choice.actor)) {
    throw new SignerError(
      `the ${signer.source} (${fp}) is listed for ${names.join(", ")}, not for ${choice.actor}`,
    );
  }
  if (!choice.actor && names.length > 1) {
    throw new SignerError(`the ${signer.source} is listed for ${names.join(", ")}: say which with --as`);
  }
  return { signer, actor: choice.actor ?? (names[0] as string) };
}

async function openSigner(choice: SignerChoice, entries: SignerEntry[]): Promise<Signer> {
  const socket = choice.agentSocket ?? process.env.SSH_AUTH_SOCK;
  if (choice.keyFile) {
    const text = readKeyFile(choice.keyFile);
    if (isOpenSshPrivateKey(text)) return keyFileSigner(choice.keyFile);
    const wanted = publicKeyFromLine(text, choice.keyFile);
    if (!socket)
      throw new SignerError(
        `${choice.keyFile} is a public key: its private key must be in ssh-agent, and SSH_AUTH_SOCK is not set`,
      );
    const found = (await agentKeys(socket)).find((k) => bytesEqual(k.publicKey.blob, wanted.blob));
    if (!found)
      throw new SignerError(
        `ssh-agent has no private key for ${choice.keyFile} (${fingerprint(wanted)}): ssh-add it`,
      );
    return agentSigner(socket, found.publicKey, found.comment);
  }
  if (!socket) {
    throw new SignerError(
      "nothing to sign with: pass --key <file> (an ed25519 private key), or start ssh-agent and ssh-add your key",
    );
  }
  const keys = await agentKeys(socket);
  const listed = keys.filter((k) => {
    const names = principalsOf(entries, k.publicKey);
    return names.length > 0 && (!choice.actor || names.includes(choice.actor));
  });
  const key = listed[0];
  if (!key) {
    const offered = keys.map((k) => fingerprint(k.publicKey)).join(", ") || "no ed25519 key";
    throw new SignerError(
      `ssh-agent holds no key the signers file lists${choice.actor ? ` for ${choice.actor}` : ""} (agent has: ${offered}); ssh-add yours or pass --key <file>`,
    );
  }
  return agentSigner(socket, key.publicKey, key.comment);
}

function publicKeyFromLine(text: string, where: string): Ed25519PublicKey {
  const [type, base64] = text.trim().split(/\s+/);
  if (type !== "ssh-ed25519" || !base64) {
    throw new SignerError(`${where} is neither an OpenSSH ed25519 private key nor an ssh-ed25519 public key`);
  }
  return publicKeyFromBlob(fromBase64(base64));
}
