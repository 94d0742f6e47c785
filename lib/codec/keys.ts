// Payload encryption keys: where they come from and what they look like.
//
// SHIPSHAPE_CODEC_KEYS is either a path to a key file or the keys inline, as
// `id:base64key` entries separated by commas or newlines (a key file holds the
// same text; `#` starts a comment). Every key is 32 random bytes (AES-256). The
// first key encrypts; every key decrypts, so a rotation puts the new key first
// and keeps the old ones until no history needs them.
//
// Nothing in the repository holds a key. Development tooling (`npm run dev`,
// the demo, the tests) generates a random key file once per machine under the
// state folder (devCodecKeyFile); anywhere else a missing key is an error that
// says how to make one.

import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { stateDir } from "../runtime/paths";

export interface CodecKey {
  id: string;
  key: Buffer;
}

export interface CodecKeySet {
  /** Where the keys came from, for startup logs (never the keys themselves). */
  source: string;
  /** keys[0] encrypts; all decrypt. */
  keys: CodecKey[];
}

export const CODEC_KEYS_ENV = "SHIPSHAPE_CODEC_KEYS";
const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** The keys are missing or malformed; the message says what to set. */
export class CodecKeyError extends Error {
  override name = "CodecKeyError";
}

/** Parses `id:base64key` entries (commas or newlines between them, `#` comments). */
export function parseCodecKeys(text: string, source: string): CodecKeySet {
  const entries = text
    .split("\n")
    .flatMap((line) => line.replace(/#.*$/, "").split(","))
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "");
  if (entries.length === 0) throw new CodecKeyError(`${source} holds no key (expected id:base64key entries)`);
  const keys: CodecKey[] = [];
  for (const [i, entry] of entries.entries()) {
    const colon = entry.indexOf(":");
    const id = colon > 0 ? entry.slice(0, colon) : "";
    if (!KEY_ID.test(id)) {
      throw new CodecKeyError(
        `${source}: entry ${i + 1} has no valid key id before ':' (letters, digits, . _ -; e.g. k1:BASE64)`,
      );
    }
    const key = Buffer.from(entry.slice(colon + 1), "base64");
    if (key.length !== 32) {
      throw new CodecKeyError(
        `${source}: key ${id} is ${key.length} bytes, AES-256 needs 32 (make one with: openssl rand -base64 32)`,
      );
    }
    if (keys.some((k) => k.id === id)) throw new CodecKeyError(`${source}: key id ${id} appears twice`);
    keys.push({ id, key });
  }
  return { source, keys };
}

/** The per-machine development key file (made by ensureDevCodecKeys). */
export function devCodecKeyFile(): string {
  return path.join(stateDir(), "codec.keys");
}

function looksInline(value: string): boolean {
  return /^[A-Za-z0-9._-]{1,64}:[A-Za-z0-9+/=]{40,}/.test(value.trim());
}

/**
 * The keys from SHIPSHAPE_CODEC_KEYS (a file path or inline keys), else from the
 * development key file when `npm run dev`/demo/tests made one on this machine.
 */
export function loadCodecKeys(env: NodeJS.ProcessEnv = process.env): CodecKeySet {
  const value = env[CODEC_KEYS_ENV]?.trim();
  if (value) {
    if (looksInline(value)) return parseCodecKeys(value, `$${CODEC_KEYS_ENV}`);
    let text: string;
    try {
      text = fs.readFileSync(value, "utf8");
    } catch (e) {
      throw new CodecKeyError(
        `$${CODEC_KEYS_ENV} names the key file ${value}, which cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`,
      );
    }
    return parseCodecKeys(text, value);
  }
  const dev = devCodecKeyFile();
  if (fs.existsSync(dev)) return parseCodecKeys(fs.readFileSync(dev, "utf8"), dev);
  throw new CodecKeyError(
    `no payload encryption key: set ${CODEC_KEYS_ENV} to a key file or to id:base64key (make a key with: echo "k1:$(openssl rand -base64 32)" > keys; chmod 600 keys). For local development \`npm run dev\` makes one in ${dev}.`,
  );
}

/**
 * Makes the development key file (one random key, mode 0600) unless it exists;
 * returns its path. Safe when several processes race: the file appears whole
 * or not at all.
 */
export function ensureDevCodecKeys(file: string = devCodecKeyFile()): string {
  if (fs.existsSync(file)) return file;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(
    tmp,
    `# development payload key, made on this machine; never use it outside development\ndev-${randomBytes(4).toString("hex")}:${randomBytes(32).toString("base64")}\n`,
    { mode: 0o600 },
  );
  try {
    fs.linkSync(tmp, file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  return file;
}
