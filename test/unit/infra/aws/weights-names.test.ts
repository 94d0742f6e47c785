import { describe, expect, it } from "vitest";
import { awsName, versionRulePriority } from "../../../../infra/aws/names";
import { splitToWeights, weightsToSplit } from "../../../../infra/aws/weights";

describe("percentages ⇄ ALB weights", () => {
  it("maps at 0.1% resolution within 0–999", () => {
    expect(splitToWeights({ blue: 100, green: 0 })).toEqual({ blue: 999, green: 0 });
    expect(splitToWeights({ blue: 0, green: 100 })).toEqual({ blue: 0, green: 999 });
    expect(splitToWeights({ blue: 99, green: 1 })).toEqual({ blue: 990, green: 10 });
    expect(splitToWeights({ blue: 50, green: 50 })).toEqual({ blue: 500, green: 500 });
    expect(splitToWeights({ blue: 99.9, green: 0.1 })).toEqual({ blue: 999, green: 1 });
  });

  it("never rounds a positive share to weight 0", () => {
    expect(splitToWeights({ blue: 99.99, green: 0.01 })).toEqual({ blue: 999, green: 1 });
  });

  it("reads weights back as percentages", () => {
    for (const g of [0, 1, 5, 10, 25, 50, 75, 100]) {
      expect(weightsToSplit(splitToWeights({ blue: 100 - g, green: g }))).toEqual({
        blue: 100 - g,
        green: g,
      });
    }
    expect(weightsToSplit({ blue: 1, green: 1 })).toEqual({ blue: 50, green: 50 });
  });

  it("rejects splits that do not add up to 100", () => {
    expect(() => splitToWeights({ blue: 90, green: 20 })).toThrow(/sum to 100/);
    expect(() => splitToWeights({ blue: -1, green: 101 })).toThrow(/invalid split/);
  });
});

describe("AWS names", () => {
  it("sanitizes and cuts long names with a hash", () => {
    expect(awsName(["Shop", "prod", "v1.2.3"], 32)).toBe("shop-prod-v1-2-3");
    const long = awsName(["checkout-frontend", "production-eu", "2024.11.26-abc123"], 32);
    expect(long).toHaveLength(32);
    expect(long).toMatch(/^checkout-frontend-product-[0-9a-f]{6}$/);
  });

  it("puts version rules just below the weighted rule", () => {
    for (const v of ["v1", "v2", "2024.11.26"]) {
      const p = versionRulePriority(200, v);
      expect(p).toBeGreaterThanOrEqual(100);
      expect(p).toBeLessThan(200);
      expect(versionRulePriority(undefined, v)).toBeGreaterThanOrEqual(49_000);
    }
    expect(() => versionRulePriority(1, "v1")).toThrow(/no room/);
  });
});
