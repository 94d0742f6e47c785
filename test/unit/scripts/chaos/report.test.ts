import { describe, expect, it } from "vitest";
import { p95 } from "../../../../scripts/chaos/report";

describe("chaos report: recovery p95 per fault kind", () => {
  it("interpolates between the two closest recoveries, like the benchmarks", () => {
    // 20 recoveries 1..20 s: position 0.95 × 19 = 18.05 → 19 s + 0.05 × 1 s.
    const xs = Array.from({ length: 20 }, (_, i) => (i + 1) * 1000).reverse();
    expect(p95(xs)).toBe(19_050);
  });

  it("is the one recovery when there is one, and nothing when there is none", () => {
    expect(p95([3200])).toBe(3200);
    expect(p95([])).toBeNull();
  });

  it("is pulled up by one slow recovery among a few (the goal is stated on it)", () => {
    expect(p95([3000, 3100, 3200, 12_000])).toBeGreaterThan(10_000);
  });
});
