import { describe, expect, it } from "vitest";
import { effectiveShares } from "../../../../../infra/local/router/routes-view";

describe("effectiveShares (what the read-back compares)", () => {
  const both = ["blue", "green"] as const;
  it("is the drawn split while both backends have a healthy instance", () => {
    expect(effectiveShares([...both], 1000, { blue: true, green: true })).toEqual({ blue: 0.9, green: 0.1 });
    expect(effectiveShares([...both], 1, { blue: true, green: true }).green).toBe(0.0001);
  });

  it("sends everything to the only backend with a healthy instance, even at weight 0", () => {
    expect(effectiveShares([...both], 1000, { blue: true, green: false })).toEqual({ blue: 1, green: 0 });
    expect(effectiveShares([...both], 0, { blue: false, green: true })).toEqual({ blue: 0, green: 1 });
    expect(effectiveShares([...both], 5000, { blue: false, green: false })).toEqual({ blue: 0, green: 0 });
    expect(effectiveShares(["blue"], 0, { blue: true, green: false })).toEqual({ blue: 1 });
  });
});
