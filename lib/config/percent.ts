// Percentages in shipshape.yaml are written either as a percent string ("20%")
// or as a fraction (0.2). Both normalize to the fraction. A bare number above 1
// is rejected as ambiguous: `20` could mean 20% or 2000%. Pure module.

export type PercentResult = { ok: true; fraction: number } | { ok: false; reason: string; fix: string };

const PERCENT = /^\s*([0-9]+(?:\.[0-9]+)?)\s*%\s*$/;

export interface PercentOptions {
  /** Largest fraction accepted (1 for "at most 100%"); undefined = no upper bound for "N%" strings. */
  maxFraction?: number;
  /** Accept 0 / "0%". */
  allowZero?: boolean;
}

export function parsePercent(input: unknown, options: PercentOptions = {}): PercentResult {
  const { maxFraction, allowZero = true } = options;
  let fraction: number;
  if (typeof input === "number") {
    if (!Number.isFinite(input))
      return { ok: false, reason: "not a finite number", fix: 'write e.g. "20%" or 0.2' };
    if (input > 1) {
      return {
        ok: false,
        reason: `${input} is ambiguous: a bare number is a fraction (0.2 = 20%), so ${input} would mean ${input * 100}%`,
        fix: `write "${input}%" for ${input} percent, or ${input / 100} as a fraction`,
      };
    }
    fraction = input;
  } else if (typeof input === "string") {
    const match = PERCENT.exec(input);
    if (!match) {
      const asNumber = Number(input);
      return {
        ok: false,
        reason: `"${input}" is neither a percentage nor a fraction`,
        fix: Number.isFinite(asNumber)
          ? `write ${input} without quotes for a fraction, or "${input}%" for a percentage`
          : 'write a percentage like "20%" or a fraction like 0.2',
      };
    }
    fraction = Number(match[1]) / 100;
  } else {
    return {
      ok: false,
      reason: "expected a percentage",
      fix: 'write a percentage like "20%" or a fraction like 0.2',
    };
  }
  if (fraction < 0) return { ok: false, reason: "must not be negative", fix: 'write e.g. "20%" or 0.2' };
  if (!allowZero && fraction === 0)
    return { ok: false, reason: "must be greater than 0%", fix: 'write e.g. "20%" or 0.2' };
  if (maxFraction !== undefined && fraction > maxFraction) {
    return {
      ok: false,
      reason: `must be at most ${maxFraction * 100}%`,
      fix: `use a value between 0 and ${maxFraction * 100}% (fraction ${maxFraction})`,
    };
  }
  // Avoid 0.1 + float noise such as 0.20000000000000001 from "20%" / 100.
  return { ok: true, fraction: Number(fraction.toPrecision(12)) };
}

export function formatPercent(fraction: number): string {
  return `${Number((fraction * 100).toPrecision(12))}%`;
}
