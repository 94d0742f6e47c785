// sha256 of the normalized config in canonical JSON (sorted keys). Stable across
// formatting, comments and key order; changes when anything meaningful changes.
// Used as a workflow memo to tell which config a deployment ran with. Computed
// before ${env:…} resolution, so secrets never influence or leak into it.

import { createHash } from "node:crypto";
import { canonicalJson } from "./canonical-json";

export { canonicalJson };

export function configDigest(config: unknown): string {
  return createHash("sha256").update(canonicalJson(config)).digest("hex");
}
