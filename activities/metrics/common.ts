/**
 * Pure helpers shared by the metric providers: query templating, JSON path
 * expressions, error measurements. No I/O here (unit-tested in
 * test/unit/activities/metrics/providers-*.test.ts).
 */

import type { Measurement } from "../../lib/analysis/types";
import type { MeasureRequest, MetricRequestSpec } from "../../lib/drivers/metric-provider";

// ---------------------------------------------------------------------------
// Templating
// ---------------------------------------------------------------------------

/**
 * Query templates use `$name` or `${name}`; `$$` is a literal `$`.
 *
 *   $service            the service name
 *   $environment        the environment name
 *   $version            the release being measured: the canary's version when
 *                       measuring the canary, the baseline's when measuring the baseline
 *   $canary_version     always the canary's version
 *   $baseline_version   always the baseline's version
 *   $backend            router backend of the side being measured (green / blue)
 *   $interval           the analysis window as a duration, e.g. `30s`
 *   $window_seconds     the same, as a plain number of seconds
 *
 * The same query is evaluated once per side, so `rate(x{version="$version"}[$interval])`
 * yields canary and baseline values. An unknown variable is an error (a typo
 * must not silently become a query that matches nothing), and so is
 * `$baseline_version` when there is no baseline.
 */
export const TEMPLATE_VARIABLES = [
  "service",
  "environment",
  "version",
  "canary_version",
  "baseline_version",
  "backend",
  "interval",
  "window_seconds",
] as const;
export type TemplateVariable = (typeof TEMPLATE_VARIABLES)[number];
export type TemplateValues = Partial<Record<TemplateVariable, string>>;

export class TemplateError extends Error {
  override name = "TemplateError";
}

const TOKEN = /\$(?:\$|\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g;

/** Expands a template; `escape` is applied to every substituted value (not to the template text). */
export function expandTemplate(
  template: string,
  values: TemplateValues,
  encode: (value: string) => string = (v) => v,
): string {
  return template.replace(TOKEN, (whole, braced: string | undefined, bare: string | undefined) => {
    if (whole === "$$") return "$";
    const name = (braced ?? bare) as string;
    if (!(TEMPLATE_VARIABLES as readonly string[]).includes(name)) {
      throw new TemplateError(
        `unknown template variable $${name} in ${JSON.stringify(template)}; known: ${TEMPLATE_VARIABLES.map((v) => `$${v}`).join(", ")}`,
      );
    }
    const value = values[name as TemplateVariable];
    if (value === undefined) {
      throw new TemplateError(`template variable $${name} has no value here (no baseline version?)`);
    }
    return encode(value);
  });
}

/** Prometheus duration for a number of seconds: 30 → "30s", 0.5 → "1s" (never below 1 s). */
export function promDuration(seconds: number): string {
  return `${Math.max(1, Math.round(seconds))}s`;
}

/** Escapes a value for use inside a PromQL double-quoted string literal. */
export function promQuote(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** Template values for one side of a measure request. */
export function sideValues(req: MeasureRequest, side: "canary" | "baseline"): TemplateValues {
  const values: TemplateValues = {
    service: req.service,
    environment: req.environment,
    canary_version: req.canary.version,
    interval: promDuration(req.windowSeconds),
    window_seconds: String(Math.max(1, Math.round(req.windowSeconds))),
    backend: side === "canary" ? req.canary.backend : req.baseline.backend,
  };
  if (req.baseline.version !== null) values.baseline_version = req.baseline.version;
  const version = side === "canary" ? req.canary.version : req.baseline.version;
  if (version !== null) values.version = version;
  return values;
}

// ---------------------------------------------------------------------------
// JSON path expressions (http-json provider)
// ---------------------------------------------------------------------------

/**
 * A small path language to pick a value out of a JSON document:
 *
 *   path     := first? step*
 *   first    := name                      (same as .name at the start)
 *   step     := "." name                  object key
 *             | "[" integer "]"           array index; negative counts from the end ([-1] = last)
 *             | "[" quoted "]"            object key with any characters: ["p95 ms"] or ['a.b']
 *   name     := [A-Za-z_$][A-Za-z0-9_$-]*
 *
 * Examples: `value`, `data.items[0].value`, `stats["latency.p95"]`, `series[-1][1]`.
 * The empty path (or ".") is the whole document.
 */
export type PathStep = { key: string } | { index: number };

export class PathError extends Error {
  override name = "PathError";
}

export function parsePath(expr: string): PathStep[] {
  const steps: PathStep[] = [];
  const s = expr.trim();
  if (s === "" || s === ".") return steps;
  let i = 0;
  const nameAt = (start: number): [string, number] => {
    const m = /^[A-Za-z_$][A-Za-z0-9_$-]*/.exec(s.slice(start));
    if (!m) throw new PathError(`path ${JSON.stringify(expr)}: expected a key name at position ${start}`);
    return [m[0], start + m[0].length];
  };
  if (s[0] !== "." && s[0] !== "[") {
    const [name, next] = nameAt(0);
    steps.push({ key: name });
    i = next;
  }
  while (i < s.length) {
    const c = s[i];
    if (c === ".") {
      const [name, next] = nameAt(i + 1);
      steps.push({ key: name });
      i = next;
    } else if (c === "[") {
      const rest = s.slice(i + 1);
      const num = /^\s*(-?\d+)\s*\]/.exec(rest);
      const quoted = /^\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')\s*\]/.exec(rest);
      if (num) {
        steps.push({ index: Number(num[1]) });
        i += 1 + num[0].length;
      } else if (quoted) {
        const raw = quoted[1] ?? quoted[2] ?? "";
        steps.push({ key: raw.replace(/\\(.)/g, "$1") });
        i += 1 + quoted[0].length;
      } else {
        throw new PathError(`path ${JSON.stringify(expr)}: expected [integer] or ["key"] at position ${i}`);
      }
    } else {
      throw new PathError(`path ${JSON.stringify(expr)}: unexpected ${JSON.stringify(c)} at position ${i}`);
    }
  }
  return steps;
}

export function formatPath(steps: PathStep[]): string {
  return steps
    .map((st) =>
      "index" in st
        ? `[${st.index}]`
        : /^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(st.key)
          ? `.${st.key}`
          : `[${JSON.stringify(st.key)}]`,
    )
    .join("")
    .replace(/^\./, "");
}

/**
 * Walks a path. Absent key / index out of range → `undefined` ("no data");
 * stepping into something that is not an object/array → PathError (the path
 * does not fit the document's shape: a configuration error, not missing data).
 */
export function selectPath(doc: unknown, steps: PathStep[]): unknown {
  let cur: unknown = doc;
  for (let n = 0; n < steps.length; n++) {
    const st = steps[n] as PathStep;
    if (cur === undefined || cur === null) return undefined;
    if ("index" in st) {
      if (!Array.isArray(cur)) {
        throw new PathError(`${formatPath(steps.slice(0, n)) || "document"} is ${kindOf(cur)}, not an array`);
      }
      const idx = st.index < 0 ? cur.length + st.index : st.index;
      cur = idx >= 0 && idx < cur.length ? cur[idx] : undefined;
    } else {
      if (typeof cur !== "object" || Array.isArray(cur)) {
        throw new PathError(
          `${formatPath(steps.slice(0, n)) || "document"} is ${kindOf(cur)}, not an object`,
        );
      }
      cur = Object.hasOwn(cur, st.key) ? (cur as Record<string, unknown>)[st.key] : undefined;
    }
  }
  return cur;
}

function kindOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  return typeof v === "object" ? "an object" : `a ${typeof v}`;
}

/** A JSON number, or a string holding one (many APIs quote numbers; Prometheus does). */
export function toNumber(v: unknown): number | undefined {
  if (typeof v === "number") return v;
  if (typeof v === "string" && v.trim() !== "") {
    const t = v.trim();
    if (t === "NaN" || t === "+Inf" || t === "-Inf" || t === "Infinity" || t === "-Infinity")
      return Number.NaN;
    const n = Number(t);
    return Number.isNaN(n) ? undefined : n;
  }
  return undefined;
}

// ---------------------------------------------------------------------------
// Measurements
// ---------------------------------------------------------------------------

/** Whether a metric's judge compares sample distributions (providers then also return samples). */
export function wantsSamples(metric: MetricRequestSpec): boolean {
  return metric.judge?.kind === "mannWhitney";
}

/** Plain-JSON number: finite or null. */
export function finiteOrNull(v: number | null | undefined): number | null {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

export const MAX_ERROR_CHARS = 300;

/** The measurement every provider returns for provider trouble. */
export function errorMeasurement(metric: string, error: string): Measurement {
  const text = error.length > MAX_ERROR_CHARS ? `${error.slice(0, MAX_ERROR_CHARS - 1)}…` : error;
  return { metric, canary: null, baseline: null, error: text };
}

export function errorText(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as Error & { cause?: unknown }).cause;
    const causeText =
      cause instanceof Error ? `: ${(cause as NodeJS.ErrnoException).code ?? cause.message}` : "";
    return `${err.message}${causeText}`;
  }
  return String(err);
}

export function median(xs: number[]): number | null {
  const v = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 === 1 ? (v[mid] as number) : ((v[mid - 1] as number) + (v[mid] as number)) / 2;
}
