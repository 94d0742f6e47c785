// A Problem is one thing wrong with a config file, located precisely enough for
// an editor to jump to it. Every checker in lib/config produces these; the CLI
// prints them (formatProblems) or emits them as JSON (`validate --json`).
// Pure module: no Node imports.

export type Severity = "error" | "warning";

export interface Problem {
  /** File the problem is in, as given to the loader (relative paths stay relative). */
  file: string;
  /** 1-based line. */
  line: number;
  /** 1-based column. */
  column: number;
  /** Key path inside the file, e.g. `release.steps[1].weight` ("" for the whole file). */
  path: string;
  /** What is wrong, in one sentence. */
  message: string;
  /** What a valid value looks like. */
  expected?: string;
  /** What the file contains instead (never a secret's value). */
  found?: string;
  /** How to fix it; "did you mean …" suggestions live here. */
  fix?: string;
  severity: Severity;
  /** Stable machine-readable kind, e.g. `unknown-key`, `yaml-syntax`, `invalid-duration`. */
  code: string;
}

export type PathSegment = string | number;

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

/** `["release", "steps", 1, "weight"]` → `release.steps[1].weight`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else {
      const key = String(segment);
      if (IDENTIFIER.test(key)) out += out === "" ? key : `.${key}`;
      else out += `[${JSON.stringify(key)}]`;
    }
  }
  return out;
}

/** Sorted by file, line, column, then path: the order a reader goes through the file. */
export function sortProblems(problems: readonly Problem[]): Problem[] {
  return [...problems].sort(
    (a, b) =>
      a.file.localeCompare(b.file) ||
      a.line - b.line ||
      a.column - b.column ||
      a.path.localeCompare(b.path) ||
      a.message.localeCompare(b.message),
  );
}

/** Drops exact duplicates (same place, same message) that two checkers may both find. */
export function dedupeProblems(problems: readonly Problem[]): Problem[] {
  const seen = new Set<string>();
  const out: Problem[] = [];
  for (const p of problems) {
    const key = `${p.file}\0${p.line}\0${p.column}\0${p.path}\0${p.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(p);
  }
  return out;
}

export function hasErrors(problems: readonly Problem[]): boolean {
  return problems.some((p) => p.severity === "error");
}

const URL_CREDENTIALS = /(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)[^@\s]+@/gi;

/**
 * Renders a value found in a file for a message: strings quoted, long values cut,
 * passwords inside URLs (`postgres://u:secret@h`) masked.
 */
export function describeValue(value: unknown): string {
  if (value === undefined) return "nothing (the key is missing)";
  if (value === null) return "an empty value";
  if (typeof value === "string") {
    const masked = value.replace(URL_CREDENTIALS, "$1***@");
    const cut = masked.length > 60 ? `${masked.slice(0, 57)}...` : masked;
    return JSON.stringify(cut);
  }
  if (typeof value === "number" || typeof value === "boolean") return `${typeof value} ${String(value)}`;
  if (Array.isArray(value)) return value.length === 0 ? "an empty list" : `a list of ${value.length} item(s)`;
  if (typeof value === "object") {
    const keys = Object.keys(value as object);
    return keys.length === 0 ? "an empty mapping {}" : `a mapping with keys ${keys.join(", ")}`;
  }
  return String(value);
}
