// Secret values out of text: every resolved `${env:NAME}` value is replaced by
// [redacted] before command output, errors or status reach a person or the
// workflow history, and text from outside is cut to a bounded size. Pure.

export const REDACTED = "[redacted]";

/**
 * Values shorter than this are not treated as secrets: replacing every "1" or
 * "on" would make output unreadable, and such values protect nothing.
 */
export const MIN_SECRET_LENGTH = 4;

/** The resolved values worth redacting, longest first (so a value inside another goes second). */
export function secretValues(values: Iterable<string | undefined>): string[] {
  const set = new Set<string>();
  for (const v of values) if (v !== undefined && v.length >= MIN_SECRET_LENGTH) set.add(v);
  return [...set].sort((a, b) => b.length - a.length);
}

export function redactSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= MIN_SECRET_LENGTH) out = out.split(s).join(REDACTED);
  return out;
}

// Built from strings: a regex literal with control characters reads as a typo.
const ANSI_SEQUENCE = new RegExp(`${String.fromCharCode(27)}\\[[0-9;?]*[A-Za-z]`, "g");
const ch = (code: number) => String.fromCharCode(code);
const CONTROL_CHARACTERS = new RegExp(`[${ch(0)}-${ch(8)}${ch(11)}-${ch(31)}${ch(127)}]`, "g");

/** Terminal control sequences out (they could rewrite what a person sees), then the last `maxChars`. */
export function boundOutput(text: string, maxLines = 20, maxChars = 2000): string {
  const clean = text.replace(ANSI_SEQUENCE, "").replace(CONTROL_CHARACTERS, "");
  const lines = clean.trimEnd().split(/\r?\n/);
  const kept = lines.slice(-maxLines).join("\n");
  const cut = kept.length > maxChars ? `…${kept.slice(-maxChars)}` : kept;
  return lines.length > maxLines ? `… (${lines.length - maxLines} earlier lines left out)\n${cut}` : cut;
}
