// "Did you mean …?" for unknown keys, enum values and file names.
import { distance } from "fastest-levenshtein";

/**
 * The closest candidate to `word`, if it is close enough to be a plausible typo:
 * edit distance at most max(1, ⌊len/3⌋) (case-insensitive), or one is a prefix of the other.
 */
export function suggest(word: string, candidates: Iterable<string>): string | undefined {
  const lower = word.toLowerCase();
  let best: string | undefined;
  let bestScore = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    if (candidate === word) continue;
    const c = candidate.toLowerCase();
    let score = distance(lower, c);
    if (score > 0 && lower.length >= 3 && (c.startsWith(lower) || lower.startsWith(c)))
      score = Math.min(score, 1.5);
    if (score < bestScore) {
      bestScore = score;
      best = candidate;
    }
  }
  if (best === undefined) return undefined;
  const limit = Math.max(1, Math.floor(Math.max(word.length, best.length) / 3));
  return bestScore <= limit ? best : undefined;
}

export function didYouMean(word: string, candidates: Iterable<string>): string | undefined {
  const s = suggest(word, candidates);
  return s === undefined ? undefined : `did you mean \`${s}\`?`;
}
