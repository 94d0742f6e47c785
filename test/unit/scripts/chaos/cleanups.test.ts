import { describe, expect, it } from "vitest";
import { CampaignCleanups } from "../../../../scripts/chaos/cleanups";

describe("campaign cleanups", () => {
  it("run newest first, final ones after all others in their order, and a failure does not stop the rest", async () => {
    const ran: string[] = [];
    const logged: string[] = [];
    const c = new CampaignCleanups((l) => logged.push(l));
    c.add(async () => ran.push("stack"));
    c.addFinal(async () => ran.push("router again"));
    c.add(async () => {
      ran.push("second service");
      throw new Error("destroy failed");
    });
    c.addFinal(async () => ran.push("last"));
    await c.runAll();
    expect(ran).toEqual(["second service", "stack", "router again", "last"]);
    expect(logged.join("\n")).toContain("destroy failed");
  });
});
