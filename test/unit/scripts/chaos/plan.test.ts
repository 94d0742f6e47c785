import { describe, expect, it } from "vitest";
import { DEFAULT_CAMPAIGN, FAULT_KINDS, planCampaign } from "../../../../scripts/chaos/plan";

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
