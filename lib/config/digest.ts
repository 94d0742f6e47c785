// sha256 of the normalized config in canonical JSON (sorted keys). Stable across
// formatting, comments and key order; changes when anything meaningful changes.
// Used as a workflow memo to tell which config a deployment ran with. Computed
// before ${env:…} resolution, so secrets never influence or leak into it.

import { createHash } from "node:crypto";

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}

export function configDigest(config: unknown): string {
  return createHash("sha256").update(canonicalJson(config)).digest("hex");
}
