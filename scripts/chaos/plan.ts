/**
 * The chaos campaign's plan: which versions are deployed, which are bad, and
 * which faults hit each deployment when. Pure and seeded — the same seed and
 * run count always give the same plan, so a failing campaign is re-run exactly
 * with `npm run chaos -- --seed <seed> --runs <n>`.
 *
 * Coverage: faults are dealt from shuffled decks of every kind, so any
 * campaign of ⌈kinds / faultsPerRun⌉ runs or more injects every kind at least
 * once (the bounded CI form relies on that). No run gets the same kind twice.
 */
import { z } from "zod";
import { type Random, randomInt, seededRandom, shuffled } from "../../lib/random/seeded";

export const FAULT_KINDS = [
  "worker-kill",
  "pulumi-kill",
  "temporal-restart",
  "postgres-stop",
  "metrics-outage",
  "abort",
  "approve",
  "proxy-kill",
  "redeploy-serving",
  "concurrent-service",
  "abort-in-finalize",
  "multi-migration",
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export const FaultPlanSchema = z.object({
  kind: z.enum(FAULT_KINDS),
  /** When the fault fires, from the moment the deployment started. For pulumi-kill: the earliest moment. */
  afterMs: z.number().int().nonnegative(),
  /**
   * worker-kill: how long the worker stays dead; postgres-stop / metrics-outage:
   * how long the outage lasts; temporal-restart: extra downtime on top of the
   * restart; pulumi-kill: how long the pulumi process lives before the kill;
   * proxy-kill: unused (the router's control process starts a new HAProxy at once);
   * redeploy-serving: how long after its start the redeploy of the serving version is aborted;
   * concurrent-service: unused; multi-migration: how many migrations the release carries.
   */
  durationMs: z.number().int().nonnegative(),
});
export type FaultPlan = z.infer<typeof FaultPlanSchema>;

export const RunPlanSchema = z.object({
  index: z.number().int().positive(),
  version: z.string(),
  /** bad: the version answers CHAOS_BAD_ERROR_RATE of its requests with 500s and must never be promoted. */
  health: z.enum(["healthy", "bad"]),
  /** An approval gate before full traffic (always when an `approve` fault is planned). */
  approvalGate: z.boolean(),
  faults: z.array(FaultPlanSchema),
});
export type RunPlan = z.infer<typeof RunPlanSchema>;

export const CampaignOptionsSchema = z.object({
  seed: z.number().int().nonnegative(),
  runs: z.number().int().min(1).max(1000),
  faultsPerRun: z.number().int().min(0).max(FAULT_KINDS.length),
  /** Share of runs that deploy a bad version. */
  badShare: z.number().min(0).max(1),
  /** Time-triggered faults fire uniformly within [minAfterMs, maxAfterMs] after the start. */
  minAfterMs: z.number().int().nonnegative(),
  maxAfterMs: z.number().int().positive(),
  /** Kinds added to every run on top of the dealt ones (to hammer one fault, e.g. `--force-fault proxy-kill`). */
  force: z.array(z.enum(FAULT_KINDS)).default([]),
});
export type CampaignOptions = z.infer<typeof CampaignOptionsSchema>;

export const DEFAULT_CAMPAIGN: Omit<CampaignOptions, "seed" | "runs"> = {
  faultsPerRun: 2,
  badShare: 0.35,
  minAfterMs: 500,
  maxAfterMs: 40_000,
  force: [],
};

/** Range of `durationMs` per kind (see FaultPlanSchema). */
const DURATION_MS: Record<FaultKind, [number, number]> = {
  "worker-kill": [0, 3000],
  "pulumi-kill": [200, 2500],
  "temporal-restart": [0, 2000],
  "postgres-stop": [1000, 5000],
  "metrics-outage": [2000, 15_000],
  abort: [0, 0],
  approve: [0, 0],
  "proxy-kill": [0, 0],
  "redeploy-serving": [0, 1500],
  "concurrent-service": [0, 0],
  "abort-in-finalize": [0, 0],
  "multi-migration": [2, 4],
};

/**
 * Latest moment per kind, when earlier than the campaign's: the second
 * service must start while the shop's deployment still provisions and
 * expands (its schema work overlapping the shop's), not after it closed.
 */
const LATEST_AFTER_MS: Partial<Record<FaultKind, number>> = { "concurrent-service": 6000 };

/** One fault of `kind` at a seeded moment within `afterMs`, with a seeded duration in its kind's range. */
export function planFault(random: Random, kind: FaultKind, [from, to]: [number, number]): FaultPlan {
  const [lo, hi] = DURATION_MS[kind];
  const latest = Math.max(from, Math.min(to, LATEST_AFTER_MS[kind] ?? to));
  return { kind, afterMs: randomInt(random, from, latest), durationMs: randomInt(random, lo, hi) };
}

function dealFaults(random: Random, runs: number, perRun: number): FaultKind[][] {
  const deck: FaultKind[] = [];
  const draw = (): FaultKind => {
    if (deck.length === 0) deck.push(...shuffled(random, FAULT_KINDS));
    return deck.shift() as FaultKind;
  };
  return Array.from({ length: runs }, () => {
    const kinds: FaultKind[] = [];
    const skipped: FaultKind[] = [];
    while (kinds.length < perRun) {
      const k = draw();
      if (kinds.includes(k)) skipped.push(k);
      else kinds.push(k);
    }
    deck.unshift(...skipped); // a duplicate goes to the next run, not lost
    return kinds;
  });
}

export function planCampaign(input: CampaignOptions): RunPlan[] {
  const o = CampaignOptionsSchema.parse(input);
  if (o.maxAfterMs < o.minAfterMs) throw new Error("maxAfterMs must be ≥ minAfterMs");
  const random = seededRandom(o.seed);
  const kinds = dealFaults(random, o.runs, o.faultsPerRun).map((ks) => [
    ...ks,
    ...o.force.filter((k) => !ks.includes(k)),
  ]);
  const badCount = Math.round(o.runs * o.badShare);
  const bad = new Set(shuffled(random, [...Array(o.runs).keys()]).slice(0, badCount));
  return kinds.map((ks, i) => {
    const faults = ks.map((kind) => planFault(random, kind, [o.minAfterMs, o.maxAfterMs]));
    faults.sort((a, b) => a.afterMs - b.afterMs);
    return RunPlanSchema.parse({
      index: i + 1,
      version: `c${i + 1}`,
      health: bad.has(i) ? "bad" : "healthy",
      approvalGate: ks.includes("approve") || random() < 0.15,
      faults,
    });
  });
}
