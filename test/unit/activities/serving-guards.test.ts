/**
 * Issue 16, item 1, at the activity level: whatever the workflow asks, the
 * traffic and infra activities never detach, empty or destroy the version that
 * is serving (here the redeploy of the serving version v2, the case the
 * preflight refuses; these guards hold even if it were not refused).
 */
import { MockActivityEnvironment } from "@temporalio/testing";
import { describe, expect, it } from "vitest";
import { createEnvironmentActivities } from "../../../activities/infra";
import { createTrafficActivities } from "../../../activities/traffic";
import type { ActivityKey } from "../../../lib/deployment/types";
import { createFakes } from "../../support/fakes";

const key: ActivityKey = {
  deploymentId: "d1",
  service: "shop",
  environment: "prod",
  version: "v2",
  target: { kind: "local" },
} as ActivityKey;

const SERVING = { blue: { version: "v2", instances: ["http://blue:1"] } };

describe("activities never harm the serving version", () => {
  it("attachGreen refuses to put the serving version next to itself (blue is not detached)", async () => {
    const fakes = createFakes({ blueVersion: "v2" });
    const traffic = createTrafficActivities(fakes.deps);
    const env = new MockActivityEnvironment();
    await expect(env.run(traffic.attachGreen, { key, green: ["http://green-v2:1"] })).rejects.toThrow(
      /already serving/,
    );
    expect(fakes.routes().backends).toEqual(SERVING);
  });

  it("restoreTrafficToBlue keeps a serving blue even when it carries the deployment's version", async () => {
    const fakes = createFakes({ blueVersion: "v2" });
    const traffic = createTrafficActivities(fakes.deps);
    const env = new MockActivityEnvironment();
    const r = (await env.run(traffic.restoreTrafficToBlue, { key, blue: null })) as {
      blueVersion: string | null;
    };
    expect(r.blueVersion).toBe("v2");
    expect(fakes.routes().backends).toEqual(SERVING);
    expect(fakes.effects()).not.toContain("backends:none");
  });

  it("destroyGreen does not destroy the stack of the version the router serves", async () => {
    const fakes = createFakes({ blueVersion: "v2" });
    const infra = createEnvironmentActivities(fakes.deps);
    const env = new MockActivityEnvironment();
    const r = (await env.run(infra.destroyGreen, { key })) as { existed: boolean };
    expect(r.existed).toBe(true);
    expect(fakes.effects()).not.toContain("destroy:v2");
  });

  it("destroyGreen still destroys a green that is not serving", async () => {
    const fakes = createFakes({ blueVersion: "v1" });
    const infra = createEnvironmentActivities(fakes.deps);
    await new MockActivityEnvironment().run(infra.destroyGreen, { key });
    expect(fakes.effects()).toContain("destroy:v2");
  });
});
