import { describe, expect, it } from "vitest";
import { driftNotification } from "../../../../lib/notifications/drift";
import { NotificationSchema } from "../../../../lib/notifications/payload";

describe("the drift-detected notification of a scheduled check", () => {
  const facts = {
    checkId: "shipshape-drift:shop:production:scheduled-2026-12-03T08:00:00Z",
    service: "shop",
    environment: "production",
    version: "v7",
    artifactDigest: "sha256:abc",
    differences: [{ what: "router weight of blue", expected: "100", actual: "40" }],
    summary: "shop/production: v7 has drifted: router weight of blue: expected 100, found 40",
    at: "2026-12-03T08:00:00.000Z",
  };

  it("is a valid payload of schema v1, keyed by the check, carrying every difference", () => {
    const n = NotificationSchema.parse(driftNotification(facts));
    expect(n.id).toBe(`${facts.checkId}:1`);
    expect(n.event).toBe("drift-detected");
    expect(n.deployment).toMatchObject({ service: "shop", environment: "production", version: "v7" });
    expect(n.details.differences).toEqual(facts.differences);
    expect(n.commands.status).toBe("shipshape drift shop/production");
  });

  it("keeps the summary within the payload's bound and says 'none' when nothing serves", () => {
    const n = driftNotification({ ...facts, version: null, summary: "x".repeat(2_000) });
    expect(NotificationSchema.parse(n).summary).toHaveLength(500);
    expect(n.deployment.version).toBe("none");
  });
});
