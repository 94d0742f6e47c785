/**
 * Number and unit formatting for verdict sentences. Pure, deterministic.
 *
 * Units are inferred from the metric name first, then its query, unless the
 * spec says `unit` explicitly:
 *   - `ms` marker (`_ms`, `-ms`, ` ms`, `millis`)            → value in milliseconds, shown "312ms"
 *   - `seconds` marker (`_seconds`, `-seconds`, `_sec`; not `per_second`) → value in seconds, shown in ms
 *   - latency words (`latency`, `duration`, `response time`) → milliseconds
 *   - ratio words (`error`, `ratio`, `percent`, `success`, `availability`,
 *     `conversion`, `fraction`, `apdex`, `hit rate`, `miss rate`) → a 0..1 fraction, shown "4.8%"
 *   - otherwise a plain number.
 * A latency word in the name defers to a ms/seconds marker in the query, so
 * `p99-latency` over `histogram_quantile(…http_request_duration_seconds…)` is
 * shown in ms converted from seconds.
 */

export type Unit = "ratio" | "ms" | "s" | "number";

type Hint = "ms" | "s" | "latency" | "ratio" | null;

const MS_MARKER = /(^|[_\-\s.])ms($|[_\-\s.])|millis/i;
const SECONDS_MARKER = /(^|(?<!per)[_\-\s.])(seconds?|sec)($|[_\-\s.{[(])/i;
const LATENCY_WORDS = /latency|duration|response[_\-\s]?time/i;
const RATIO_WORDS =
  /error|ratio|percent|pct|success|availability|conversion|fraction|apdex|hit[_\-\s]?rate|miss[_\-\s]?rate/i;

function hintOf(text: string): Hint {
  if (MS_MARKER.test(text)) return "ms";
  if (SECONDS_MARKER.test(text)) return "s";
  if (LATENCY_WORDS.test(text)) return "latency";
  if (RATIO_WORDS.test(text)) return "ratio";
  return null;
}

/** The display unit of a metric (see the module comment for the rules). */
export function inferUnit(spec: { name: string; query?: string; unit?: Unit }): Unit {
  if (spec.unit) return spec.unit;
  const byName = hintOf(spec.name);
  const byQuery = spec.query ? hintOf(spec.query) : null;
  if (byName === "latency") return byQuery === "s" ? "s" : "ms";
  if (byName) return byName;
  if (byQuery === "latency") return "ms";
  return byQuery ?? "number";
}

/**
 * A number with at most `digits` (default 3) significant digits, trailing zeros
 * dropped; magnitudes of 10^digits and more are rounded to whole numbers:
 * 4.8, 1, 312, 0.0123, 1235.
 */
export function formatNumber(v: number, digits = 3): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return "0";
  if (Math.abs(v) >= 10 ** digits) return String(Math.round(v));
  const s = String(Number(v.toPrecision(digits)));
  return s === "-0" ? "0" : s;
}

/** A metric value with its unit: ratio 0.048 → "4.8%", ms 312 → "312ms", s 0.312 → "312ms". */
export function formatValue(v: number, unit: Unit, digits = 3): string {
  switch (unit) {
    case "ratio":
      return `${formatNumber(v * 100, digits)}%`;
    case "ms":
      return `${formatNumber(v, digits)}ms`;
    case "s":
      return `${formatNumber(v * 1000, digits)}ms`;
    default:
      return formatNumber(v, digits);
  }
}

/**
 * Format two values with as many digits as it takes for different values to
 * read differently (0.0100001 vs 0.01 must not both print as "1%").
 */
export function formatPair(
  a: number,
  b: number,
  fmt: (v: number, digits?: number) => string,
): [string, string] {
  for (let digits = 3; digits <= 15; digits++) {
    const fa = fmt(a, digits);
    const fb = fmt(b, digits);
    if (fa !== fb || a === b) return [fa, fb];
  }
  return [fmt(a, 17), fmt(b, 17)];
}

/** A relative change as a signed percentage: 0.56 → "+56%", -0.034 → "-3.4%", 0 → "+0%". */
export function formatSignedPercent(fraction: number, digits = 3): string {
  const s = formatNumber(fraction * 100, digits);
  return s.startsWith("-") ? `${s}%` : `+${s}%`;
}

/** A fraction as a percentage without sign: 0.2 → "20%". */
export function formatPercent(fraction: number): string {
  return `${formatNumber(fraction * 100)}%`;
}

/** A p-value with its name: "p=0.00081" (2 significant digits), "p<0.0001" below that. */
export function formatP(p: number): string {
  if (p < 0.0001) return "p<0.0001";
  return `p=${String(Number(p.toPrecision(2)))}`;
}

/** Traffic weight: 10 → "10%", 0.5 → "0.5%". */
export function formatWeight(weightPercent: number): string {
  return `${formatNumber(weightPercent)}%`;
}

/** Cut a string to `max` characters (with an ellipsis) so logs stay bounded. */
export function truncate(s: string, max: number): string {
  const oneLine = s.replace(/\s+/g, " ").trim();
  return oneLine.length <= max ? oneLine : `${oneLine.slice(0, max - 1)}…`;
}
