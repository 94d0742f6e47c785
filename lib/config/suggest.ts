// "Did you mean …?" for unknown keys, enum values and file names.
import { distance } from "fastest-levenshtein";

/**
 * The closest candidate to `word`, if it is close enough to be a plausible typo:
 * edit distance at most max(1, ⌊len/3⌋) (case-insensitive), or one is a prefix of the other.
 */
export function suggest(
  word: string,
  candidates: Iterable<string>,
  maxDistance?: number,
): string | undefined {
  const lower = word.toLowerCase();
  let best: string | undefined;
  let bestScore = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    if (candidate === word) continue;
    const c = candidate.toLowerCase();
    let score = isTransposition(lower, c) ? 1 : distance(lower, c);
    if (score > 0 && lower.length >= 3 && (c.startsWith(lower) || lower.startsWith(c)))
      score = Math.min(score, 1.5);
    if (score < bestScore) {
      bestScore = score;
      best = candidate;
    }
  }
  if (best === undefined) return undefined;
  const limit = maxDistance ?? Math.max(1, Math.floor(Math.max(word.length, best.length) / 3));
  return bestScore <= limit ? best : undefined;
}

/** "lcoal" vs "local": one swap of neighbouring letters counts as a single edit. */
function isTransposition(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  const diff: number[] = [];
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) diff.push(i);
  return (
    diff.length === 2 &&
    diff[1] === diff[0]! + 1 &&
    a[diff[0]!] === b[diff[1]!] &&
    a[diff[1]!] === b[diff[0]!]
  );
}

export function didYouMean(word: string, candidates: Iterable<string>): string | undefined {
  const s = suggest(word, candidates);
  return s === undefined ? undefined : `did you mean \`${s}\`?`;
}
