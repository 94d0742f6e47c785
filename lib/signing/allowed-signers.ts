/**
 * The allowed-signers file of `ssh-keygen -Y verify` (the format Git uses for
 * gpg.ssh.allowedSignersFile): one key per line,
 *
 *   principals [options] ssh-ed25519 AAAA… [comment]
 *   alice ssh-ed25519 AAAAC3Nza…
 *   bob,bob@example.com namespaces="shipshape",valid-after="20250101" ssh-ed25519 AAAA… laptop
 *
 * principals are comma-separated names or patterns (* and ?); the options
 * namespaces, valid-after and valid-before (YYYYMMDD[HHMM[SS]][Z], read as
 * UTC) are honoured. cert-authority and negated patterns are refused rather
 * than half-understood. Pure: used by the workflow's validators.
 */
import { ED25519, type Ed25519PublicKey, publicKeyFromBlob } from "./sshsig";
import { bytesEqual, fromBase64 } from "./wire";

export interface SignerEntry {
  line: number;
  principals: string[];
  namespaces: string[] | null;
  validAfterMs: number | null;
  validBeforeMs: number | null;
  key: Ed25519PublicKey;
}

export interface SignersProblem {
  line: number;
  message: string;
}

export interface ParsedSigners {
  entries: SignerEntry[];
  problems: SignersProblem[];
}

export function parseAllowedSigners(text: string): ParsedSigners {
  const entries: SignerEntry[] = [];
  const problems: SignersProblem[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    try {
      entries.push(parseLine(line, i + 1));
    } catch (e) {
      problems.push({ line: i + 1, message: (e as Error).message });
    }
  });
  return { entries, problems };
}

/** Splits on blanks outside double quotes. */
function tokens(line: string): string[] {
  return line.match(/(?:[^\s"]+|"[^"]*")+/g) ?? [];
}

function parseLine(line: string, lineNo: number): SignerEntry {
  const [principalsToken, ...rest] = tokens(line);
  const principals = unquote(principalsToken ?? "")
    .split(",")
    .filter((p) => p !== "");
  if (principals.length === 0) throw new Error("no principals before the key");
  if (principals.some((p) => p.startsWith("!")))
    throw new Error("negated principal patterns are not supported");
  let options = "";
  if (rest[0] !== undefined && !looksLikeKeyType(rest[0])) options = rest.shift() ?? "";
  const [type, base64] = rest;
  if (!type || !base64) throw new Error('expected "<principals> [options] ssh-ed25519 <base64 key>"');
  if (type !== ED25519)
    throw new Error(`key type ${type} is not supported: Shipshape verifies ${ED25519} keys only`);
  const key = publicKeyFromBlob(fromBase64(base64));
  return { line: lineNo, principals, ...parseOptions(options), key };
}

function looksLikeKeyType(token: string): boolean {
  return /^(ssh-|ecdsa-|sk-|rsa-)/.test(token);
}

function unquote(s: string): string {
  return s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1) : s;
}

function parseOptions(text: string): Pick<SignerEntry, "namespaces" | "validAfterMs" | "validBeforeMs"> {
  const out: Pick<SignerEntry, "namespaces" | "validAfterMs" | "validBeforeMs"> = {
    namespaces: null,
    validAfterMs: null,
    validBeforeMs: null,
  };
  for (const option of text.match(/(?:[^,"]+|"[^"]*")+/g) ?? []) {
    const eq = option.indexOf("=");
    const name = (eq < 0 ? option : option.slice(0, eq)).toLowerCase();
    const value = eq < 0 ? "" : unquote(option.slice(eq + 1));
    if (name === "namespaces") out.namespaces = value.split(",").filter((n) => n !== "");
    else if (name === "valid-after") out.validAfterMs = parseSshTime(value);
    else if (name === "valid-before") out.validBeforeMs = parseSshTime(value);
    else if (name === "cert-authority") throw new Error("cert-authority lines are not supported");
    else throw new Error(`unknown option ${JSON.stringify(name)}`);
  }
  return out;
}

/** YYYYMMDD[HHMM[SS]][Z], as UTC. */
function parseSshTime(value: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2})?)?Z?$/.exec(value);
  if (!m) throw new Error(`time ${JSON.stringify(value)} is not YYYYMMDD[HHMM[SS]][Z]`);
  const [, y, mo, d, h = "0", mi = "0", s = "0"] = m;
  return Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
}

function matchesPattern(pattern: string, name: string): boolean {
  if (!/[*?]/.test(pattern)) return pattern === name;
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${re}$`).test(name);
}

/** Whether `principal` may sign with `key` in `namespace` at `atMs`; null if so, else why not. */
export function signerRefusal(
  entries: readonly SignerEntry[],
  principal: string,
  key: Ed25519PublicKey,
  namespace: string,
  atMs: number,
): string | null {
  const forKey = entries.filter((e) => bytesEqual(e.key.blob, key.blob));
  if (forKey.length === 0) return "its key is not in the signers file";
  const forPrincipal = forKey.filter((e) => e.principals.some((p) => matchesPattern(p, principal)));
  if (forPrincipal.length === 0) {
    return `its key belongs to ${forKey.flatMap((e) => e.principals).join(", ")}, not to ${principal}`;
  }
  const usable = forPrincipal.find(
    (e) =>
      (e.namespaces === null || e.namespaces.some((n) => matchesPattern(n, namespace))) &&
      (e.validAfterMs === null || atMs >= e.validAfterMs) &&
      (e.validBeforeMs === null || atMs < e.validBeforeMs),
  );
  if (!usable)
    return `${principal}'s key is not valid for namespace ${namespace} at that time (see its line's options)`;
  return null;
}

/** The principals a key is listed for (exact names only: patterns name nobody in particular). */
export function principalsOf(entries: readonly SignerEntry[], key: Ed25519PublicKey): string[] {
  return entries
    .filter((e) => bytesEqual(e.key.blob, key.blob))
    .flatMap((e) => e.principals)
    .filter((p) => !/[*?]/.test(p));
}
