import { describe, expect, it } from "vitest";
import { renderStatus } from "../../../../cli/render/status-view";
import { deploymentStatus } from "../../../support/status-fixture";

describe("status view: a deployment made over drift (onDrift: warn)", () => {
  it("says blue had drifted and lists each difference", () => {
    const s = deploymentStatus({
      drift: {
        version: "v1",
        differences: [{ what: "router weight of blue", expected: "100", actual: "40" }],
      },
    });
    const text = renderStatus(s, { nowMs: 0 }).join("\n");
    expect(text).toContain("⚠ blue v1 had drifted from its promotion (onDrift: warn):");
    expect(text).toContain("  router weight of blue: expected 100, found 40");
  });

  it("says nothing about drift when there was none", () => {
    const s = deploymentStatus();
    expect(renderStatus(s, { nowMs: 0 }).join("\n")).not.toContain("drifted");
  });
});
