/**
 * Names of the things a deployment creates outside its own memory: Pulumi
 * stacks, routers, instance keys (which name process groups), PostgreSQL
 * version schemas. Each is `<readable>-<hash>`:
 *
 *  - the hash is 16 hex digits (64 bits) of SHA-256 over the JSON array of
 *    the name's kind and its exact parts. JSON of a string array is
 *    injective, so two different owners only share a name if SHA-256 itself
 *    collides on 64 bits (about one chance in 10^19 for a pair; the birthday
 *    bound stays below 10^-9 up to 190 000 names of one kind);
 *  - the readable part is for people (`ls`, `pulumi stack ls`, `\dn`): the
 *    parts lower-cased, anything outside the target's alphabet turned into
 *    the separator, cut to a length that leaves room for the hash. It decides
 *    nothing: `shop/prod-eu` and `shop-prod/eu` read the same and differ in
 *    the hash.
 *
 * Every output is ASCII (so bytes = characters), within the target's limit:
 * Pulumi stack names ([A-Za-z0-9._-], at most 100), file names, PostgreSQL
 * identifiers (unquoted form [a-z_][a-z0-9_]*, at most 63 bytes).
 *
 * Pure (no Node APIs): SHA-256 comes from @noble/hashes.
 */
import { sha256 } from "@noble/hashes/sha2";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils";

/** What a name is for: part of what is hashed, so the same parts give different names per kind. */
export type NameKind = "local-stack" | "router" | "version-schema";

/** Hex digits of the hash in every name. */
export const NAME_HASH_LENGTH = 16;

interface Style {
  separator: "-" | "_";
  /** Characters kept as they are (after lower-casing); every other run becomes the separator. */
  keep: RegExp;
  /** Longest readable part. */
  readableMax: number;
}

const DASHED: Style = { separator: "-", keep: /[^a-z0-9]+/g, readableMax: 60 };
// 63-byte identifiers: "v_" (2) + readable (44) + "_" (1) + hash (16) = 63.
const SQL: Style = { separator: "_", keep: /[^a-z0-9]+/g, readableMax: 44 };

export function nameHash(kind: NameKind, parts: readonly string[]): string {
  return bytesToHex(sha256(utf8ToBytes(JSON.stringify([kind, ...parts])))).slice(0, NAME_HASH_LENGTH);
}

function readable(parts: readonly string[], style: Style): string {
  const sep = style.separator;
  const trim = new RegExp(`^${sep}+|${sep}+$`, "g");
  return parts
    .join(sep)
    .toLowerCase()
    .replace(style.keep, sep)
    .replace(trim, "")
    .slice(0, style.readableMax)
    .replace(trim, "");
}

function encode(kind: NameKind, shown: readonly string[], hashed: readonly string[], style: Style): string {
  const text = readable(shown, style);
  const hash = nameHash(kind, hashed);
  return text ? `${text}${style.separator}${hash}` : hash;
}

/**
 * The local target's stack of one version environment, which also names its
 * run and log folders and prefixes its instance keys (`<stack>/<index>`, the
 * key each process group carries). `stateDir` must be absolute: instance keys
 * are visible host-wide, so two state folders never share one.
 */
export function localStackName(
  ref: { service: string; environment: string; version: string },
  stateDir: string,
): string {
  return encode(
    "local-stack",
    [ref.service, ref.environment, ref.version],
    [stateDir, ref.service, ref.environment, ref.version],
    DASHED,
  );
}

/** The local router of a service and environment (its folder lives in the state folder). */
export function routerName(scope: { service: string; environment: string }): string {
  return encode("router", [scope.service, scope.environment], [scope.service, scope.environment], DASHED);
}

/** The PostgreSQL schema of views of one migration of a service and environment (≤ 63 bytes, unquoted-safe). */
export function versionSchemaName(owner: {
  service: string;
  environment: string;
  migration: string;
}): string {
  const parts = [owner.service, owner.environment, owner.migration];
  const name = encode("version-schema", parts.filter(Boolean), parts, SQL);
  return /^[a-z_]/.test(name) ? name : `v_${name}`;
}
