import { describe, expect, it } from "vitest";
import { seededRandom } from "../../../../lib/random/seeded";
import { coverageRun } from "../../../../scripts/chaos/campaign";
import {
  DEFAULT_CAMPAIGN,
  FAULT_KINDS,
  type FaultKind,
  planCampaign,
  type RunPlan,
} from "../../../../scripts/chaos/plan";
import { migrationsOf } from "../../../../scripts/chaos/release";
import type { RunSummary } from "../../../../scripts/chaos/results";

describe("chaos campaign plan", () => {
  it("is the same for the same seed and differs for another", () => {
    const a = planCampaign({ ...DEFAULT_CAMPAIGN, seed: 7, runs: 6 });
    expect(planCampaign({ ...DEFAULT_CAMPAIGN, seed: 7, runs: 6 })).toEqual(a);
    expect(planCampaign({ ...DEFAULT_CAMPAIGN, seed: 8, runs: 6 })).not.toEqual(a);
  });

  it("injects every fault kind once ⌈kinds / faultsPerRun⌉ runs are planned, never twice in one run", () => {
    for (let seed = 0; seed < 200; seed++) {
      const plan = planCampaign({ ...DEFAULT_CAMPAIGN, seed, runs: Math.ceil(FAULT_KINDS.length / 2) });
      const kinds = new Set(plan.flatMap((r) => r.faults.map((f) => f.kind)));
      expect([...kinds].sort()).toEqual([...FAULT_KINDS].sort());
      for (const r of plan) expect(new Set(r.faults.map((f) => f.kind)).size).toBe(r.faults.length);
    }
  });

  it("gives every run with an approve fault an approval gate, and deploys the planned share of bad versions", () => {
    const plan = planCampaign({ ...DEFAULT_CAMPAIGN, seed: 3, runs: 20 });
    for (const r of plan) if (r.faults.some((f) => f.kind === "approve")) expect(r.approvalGate).toBe(true);
    expect(plan.filter((r) => r.health === "bad")).toHaveLength(7);
    expect(plan.map((r) => r.version)).toEqual(plan.map((_, i) => `c${i + 1}`));
  });

  it("adds forced kinds to every run, without doubling one the run was dealt", () => {
    const plan = planCampaign({ ...DEFAULT_CAMPAIGN, seed: 11, runs: 3, force: ["proxy-kill"] });
    for (const r of plan) {
      expect(r.faults.filter((f) => f.kind === "proxy-kill")).toHaveLength(1);
      expect(r.faults.length).toBeGreaterThanOrEqual(DEFAULT_CAMPAIGN.faultsPerRun);
    }
    // Forcing changes nothing else: the dealt kinds are those of the plain plan.
    const plain = planCampaign({ ...DEFAULT_CAMPAIGN, seed: 11, runs: 3 });
    expect(plan.map((r) => r.faults.filter((f) => f.kind !== "proxy-kill").length)).toEqual(
      plain.map((r) => r.faults.filter((f) => f.kind !== "proxy-kill").length),
    );
  });

  it("keeps fault moments and durations inside the configured ranges", () => {
    const plan = planCampaign({
      ...DEFAULT_CAMPAIGN,
      seed: 11,
      runs: 30,
      minAfterMs: 1000,
      maxAfterMs: 2000,
    });
    for (const f of plan.flatMap((r) => r.faults)) {
      expect(f.afterMs).toBeGreaterThanOrEqual(1000);
      expect(f.afterMs).toBeLessThanOrEqual(2000);
      if (f.kind === "postgres-stop") expect(f.durationMs).toBeGreaterThanOrEqual(1000);
    }
  });

  it("rejects a nonsensical campaign with the field that is wrong", () => {
    expect(() => planCampaign({ ...DEFAULT_CAMPAIGN, seed: 1, runs: 0 })).toThrow(/runs/);
  });
});

describe("run shapes of the new fault kinds", () => {
  const plan = (faults: RunPlan["faults"]): RunPlan => ({
    index: 4,
    version: "c4",
    health: "healthy",
    approvalGate: false,
    faults,
  });

  it("a multi-migration release carries durationMs migrations, in order: the column, its index, more columns", () => {
    expect(migrationsOf(plan([])).map((m) => m.name)).toEqual(["0005_chaos_c4"]);
    const migs = migrationsOf(plan([{ kind: "multi-migration", afterMs: 0, durationMs: 3 }]));
    expect(migs.map((m) => m.name)).toEqual(["0005_chaos_c4_1", "0005_chaos_c4_2", "0005_chaos_c4_3"]);
    expect([...migs.map((m) => m.name)].sort()).toEqual(migs.map((m) => m.name));
    expect(migs.map((m) => m.column)).toEqual(["chaos_c4", null, "chaos_c4_3"]);
    expect(migs[1]?.text).toMatch(
      /create_index: \{ name: chaos_c4_idx, table: orders, columns: \[chaos_c4\] \}/,
    );
  });

  it("plans multi-migration with 2–4 migrations and the second service early in the run", () => {
    const runs = planCampaign({ ...DEFAULT_CAMPAIGN, seed: 9, runs: 60 });
    const of = (k: string) => runs.flatMap((r) => r.faults.filter((f) => f.kind === k));
    expect(of("multi-migration").length).toBeGreaterThan(0);
    for (const f of of("multi-migration")) expect([2, 3, 4]).toContain(f.durationMs);
    expect(of("concurrent-service").length).toBeGreaterThan(0);
    for (const f of of("concurrent-service")) expect(f.afterMs).toBeLessThanOrEqual(6000);
  });

  it("a coverage run holds an early abort back while abort-in-finalize still has to hit", () => {
    const injected = (kinds: FaultKind[]) =>
      [{ faults: kinds.map((kind) => ({ kind, injectedAt: 1 })) }] as unknown as RunSummary[];
    const all = FAULT_KINDS.filter((k) => k !== "abort" && k !== "abort-in-finalize");
    const first = coverageRun(injected(all), 6, seededRandom(1));
    expect(first?.faults.map((f) => f.kind)).toEqual(["abort-in-finalize"]);
    const second = coverageRun(injected([...all, "abort-in-finalize"]), 7, seededRandom(1));
    expect(second?.faults.map((f) => f.kind)).toEqual(["abort"]);
    expect(coverageRun(injected([...FAULT_KINDS]), 8, seededRandom(1))).toBeNull();
  });
});
