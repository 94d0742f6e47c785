// How big the input to Shipshape may be. A release config is a few KB written
// by people; anything far larger is a mistake or an attack (a multi-megabyte
// YAML once kept the event loop busy for minutes), so it is refused with a
// clear error before it is parsed, and nothing is applied. Pure.

import type { Problem } from "./problems";

/** shipshape.yaml. */
export const MAX_CONFIG_BYTES = 256 * 1024;
/** Application config files and JSON Schemas named by `appConfig`. */
export const MAX_APP_CONFIG_BYTES = 1024 * 1024;
/** Mapping keys in one YAML/JSON document. */
export const MAX_KEYS = 5000;
/** How deep mappings and lists may nest. */
export const MAX_DEPTH = 32;

/** Who decided (`by`, `--as`, `requestedBy`). */
export const MAX_BY_LENGTH = 100;
/** Why (`reason`, `--reason`). */
export const MAX_REASON_LENGTH = 1000;
/** Service and environment names (also in workflow IDs, stack names, schemas). */
export const MAX_NAME_LENGTH = 63;
/** Versions. */
export const MAX_VERSION_LENGTH = 100;

/** The one problem reported for input refused by its size: nothing else in it is looked at. */
export function inputTooLarge(file: string, message: string, fix: string): Problem {
  return { file, line: 1, column: 1, path: "", severity: "error", code: "input-too-large", message, fix };
}

export function formatBytes(n: number): string {
  return n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MiB` : `${Math.ceil(n / 1024)} KiB`;
}

/** The refusal for text over a length limit (what, how long, the limit), or null. */
export function tooLong(what: string, value: string | undefined, max: number): string | null {
  if (value === undefined || value.length <= max) return null;
  return `${what} is ${value.length} characters long; the limit is ${max} — shorten it`;
}
