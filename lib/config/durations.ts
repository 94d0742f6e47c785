// Durations as written in shipshape.yaml: `500ms`, `30s`, `5m`, `1h30m`, `1.5h`, `2d`.
// Units go from largest to smallest, each at most once. A bare number is rejected
// because it is ambiguous (seconds? minutes?). Pure: the workflow imports this too.

import { z } from "zod";

const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000, ms: 1 } as const;
type Unit = keyof typeof UNIT_MS;
const UNIT_ORDER: readonly Unit[] = ["d", "h", "m", "s", "ms"];

/** The shape of a duration string (used in the JSON Schema so editors flag typos). */
export const DURATION_PATTERN = "^([0-9]+(\\.[0-9]+)?(ms|s|m|h|d))+$";
const COMPONENT = /([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d)/gy;

export type DurationResult = { ok: true; ms: number } | { ok: false; reason: string; fix: string };

export function parseDuration(input: unknown): DurationResult {
  if (typeof input === "number") {
    return {
      ok: false,
      reason: `a bare number (${input}) is not a duration: the unit is missing`,
      fix: `add a unit, e.g. ${input}s or ${input}m`,
    };
  }
  if (typeof input !== "string") {
    return {
      ok: false,
      reason: "expected a duration string",
      fix: "write a duration such as 30s, 5m or 1h30m",
    };
  }
  const text = input.trim();
  if (text === "") return { ok: false, reason: "the duration is empty", fix: "write a duration such as 30s" };
  if (text.startsWith("-")) {
    return {
      ok: false,
      reason: "durations must be positive",
      fix: `write ${text.slice(1)} or remove the key`,
    };
  }
  if (/^[0-9]+(\.[0-9]+)?$/.test(text)) {
    return {
      ok: false,
      reason: `"${text}" has no unit`,
      fix: `add a unit, e.g. ${text}s or ${text}m (ms, s, m, h, d)`,
    };
  }
  COMPONENT.lastIndex = 0;
  let ms = 0;
  let last = -1;
  let consumed = 0;
  for (;;) {
    const match = COMPONENT.exec(text);
    if (!match) break;
    const unit = match[2] as Unit;
    const rank = UNIT_ORDER.indexOf(unit);
    if (rank <= last) {
      return {
        ok: false,
        reason: `"${text}" repeats a unit or lists them out of order`,
        fix: "write units from largest to smallest, each once, e.g. 1h30m",
      };
    }
    last = rank;
    ms += Number(match[1]) * UNIT_MS[unit];
    consumed = COMPONENT.lastIndex;
  }
  if (consumed !== text.length || last === -1) {
    return {
      ok: false,
      reason: `"${text}" is not a duration`,
      fix: "write a number followed by a unit (ms, s, m, h, d), e.g. 500ms, 30s, 5m or 1h30m",
    };
  }
  ms = Math.round(ms);
  if (ms <= 0)
    return { ok: false, reason: "durations must be positive", fix: "use a value greater than zero" };
  return { ok: true, ms };
}

/** Like parseDuration but throws; for code paths where the value was already validated. */
export function durationMs(input: string): number {
  const r = parseDuration(input);
  if (!r.ok) throw new Error(`invalid duration ${JSON.stringify(input)}: ${r.reason}`);
  return r.ms;
}

/** 5400000 → "1h30m", 500 → "500ms", 0 → "0s". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return `${ms}ms`;
  if (ms === 0) return "0s";
  let rest = Math.round(ms);
  let out = "";
  for (const unit of UNIT_ORDER) {
    const size = UNIT_MS[unit];
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out;
}

/** A config field holding a duration string (`500ms`, `30s`, `5m`, `1h30m`) → positive number of milliseconds. */
export function durationSchema(description: string) {
  return z
    .string()
    .meta({
      description: `${description}. A duration such as 500ms, 30s, 5m or 1h30m.`,
      pattern: DURATION_PATTERN,
    })
    .transform((text, ctx) => {
      const r = parseDuration(text);
      if (r.ok) return r.ms;
      ctx.addIssue({
        code: "custom",
        message: r.reason,
        params: {
          code: "invalid-duration",
          expected: "a positive duration such as 500ms, 30s, 5m or 1h30m",
          fix: r.fix,
        },
      });
      return z.NEVER;
    });
}
