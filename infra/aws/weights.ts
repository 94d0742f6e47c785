/**
 * Percentages (the TrafficSplit of the workflow) ⇄ ALB target group weights.
 *
 * An ALB forward action weighs each target group 0–999; traffic is shared in
 * proportion to the weights. Percentages map at 0.1% resolution (weight =
 * percent × 10), so 1% → 10 : 990 and 0.1% → 1 : 999; 100% is capped to 999
 * (the other side is 0 then, so the share is still exact). A side with a
 * positive percentage never rounds down to weight 0: it would silently get no
 * traffic at all.
 */
import type { TrafficSplit } from "../../lib/drivers/traffic-router";

export const MAX_ALB_WEIGHT = 999;

export interface AlbWeights {
  blue: number;
  green: number;
}

export function checkSplit(split: TrafficSplit): void {
  const ok = (n: number) => Number.isFinite(n) && n >= 0 && n <= 100;
  if (!ok(split.blue) || !ok(split.green) || Math.abs(split.blue + split.green - 100) > 1e-9) {
    throw new Error(`invalid split ${JSON.stringify(split)}: blue and green must be 0..100 and sum to 100`);
  }
}

function toWeight(percent: number): number {
  if (percent <= 0) return 0;
  return Math.min(MAX_ALB_WEIGHT, Math.max(1, Math.round(percent * 10)));
}

export function splitToWeights(split: TrafficSplit): AlbWeights {
  checkSplit(split);
  return { blue: toWeight(split.blue), green: toWeight(split.green) };
}

/** The share each side actually gets, in percent with two decimals (blue + green = 100). */
export function weightsToSplit(w: AlbWeights): TrafficSplit {
  const total = w.blue + w.green;
  if (total <= 0) return { blue: 0, green: 0 };
  const green = Math.round((w.green / total) * 10_000) / 100;
  return { blue: Math.round((100 - green) * 100) / 100, green };
}
