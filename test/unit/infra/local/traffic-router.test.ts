import { afterEach, describe, expect, it } from "vitest";
import { legacyLocalStackName, localStackName } from "../../../../infra/local/program";
import { createLocalTrafficRouter } from "../../../../infra/local/traffic-router";
import {
  killAllBackends,
  removeDir,
  startBackend,
  startTestRouter,
  type TestRouter,
  TOKEN,
} from "./router/helpers";

// createLocalTrafficRouter against a real router (startRouter: the control
// process in this test process, HAProxy as its child) and real HTTP backends: backend registration semantics, split validation,
// idempotency (same call → same table version), and the read-back.
const scope = { service: "shop", environment: "prod" };
let router: TestRouter | undefined;

afterEach(async () => {
  await router?.close();
  if (router) await removeDir(router.dir);
  router = undefined;
  await killAllBackends();
});

async function setup() {
  router = await startTestRouter();
  const traffic = createLocalTrafficRouter({ adminUrl: router.adminUrl, token: TOKEN });
  const [b1, b2, g1] = await Promise.all([startBackend("b1"), startBackend("b2"), startBackend("g1")]);
  return { router, traffic, b1: b1!, b2: b2!, g1: g1! };
}

describe("legacyLocalStackName (the names stacks of earlier releases carry)", () => {
  it("is <service>-<env>-<version>, sanitised for Pulumi", () => {
    expect(legacyLocalStackName({ service: "shop", environment: "production", version: "v2" })).toBe(
      "shop-production-v2",
    );
    expect(legacyLocalStackName({ service: "Shop", environment: "prod", version: "1.4.0+build/7" })).toBe(
      "shop-prod-1-4-0-build-7",
    );
    expect(legacyLocalStackName({ service: "-a", environment: "b", version: "__" })).toBe("a-b");
  });
});

describe("localStackName", () => {
  it("is a readable part and a hash of the exact version and the absolute state folder", () => {
    const ref = { service: "shop", environment: "production", version: "v2" };
    expect(localStackName(ref, "/srv/state")).toMatch(/^shop-production-v2-[0-9a-f]{16}$/);
    expect(localStackName(ref, "/srv/state/../state")).toBe(localStackName(ref, "/srv/state"));
    expect(localStackName(ref, "/srv/other")).not.toBe(localStackName(ref, "/srv/state"));
  });
});

describe("local TrafficRouter", () => {
  it("registers blue alone with all traffic and green dark; keeps weights on re-registration", async () => {
    const { traffic, b1, b2, g1 } = await setup();
    const blueOnly = await traffic.setBackends(scope, {
      blue: { version: "v1", instances: [b1.url, b2.url] },
    });
    expect(blueOnly.split).toEqual({ blue: 100, green: 0 });
    expect(blueOnly.backends).toEqual({ blue: { version: "v1", instances: [b1.url, b2.url] } });

    const both = await traffic.setBackends(scope, {
      blue: { version: "v1", instances: [b1.url, b2.url] },
      green: { version: "v2", instances: [g1.url] },
    });
    expect(both.split).toEqual({ blue: 100, green: 0 });
    expect(both.tableVersion).toBeGreaterThan(blueOnly.tableVersion);

    const shifted = await traffic.setWeights(scope, { blue: 90, green: 10 });
    // Re-registering the same backends (an activity retry) neither changes the table nor resets the split.
    const again = await traffic.setBackends(scope, {
      blue: { version: "v1", instances: [b1.url, b2.url] },
      green: { version: "v2", instances: [g1.url] },
    });
    expect(again.tableVersion).toBe(shifted.tableVersion);
    expect(again.split).toEqual({ blue: 90, green: 10 });

    // Promotion: green's instances become blue in one change; green is removed.
    const promoted = await traffic.setBackends(scope, { blue: { version: "v2", instances: [g1.url] } });
    expect(promoted.backends).toEqual({ blue: { version: "v2", instances: [g1.url] } });
    expect(promoted.split).toEqual({ blue: 100, green: 0 });
  });

  it("registers the service's health path for the router's checks", async () => {
    router = await startTestRouter();
    const [b1] = await Promise.all([startBackend("b1")]);
    const traffic = createLocalTrafficRouter({
      adminUrl: router.adminUrl,
      token: TOKEN,
      healthPath: "/healthz",
    });
    await traffic.setBackends(scope, { blue: { version: "v1", instances: [b1!.url] } });
    expect(router.table().backends.blue?.healthPath).toBe("/healthz");
  });

  it("setWeights is idempotent, validates the split and refuses weight on a missing backend", async () => {
    const { traffic, b1, g1 } = await setup();
    await traffic.setBackends(scope, { blue: { version: "v1", instances: [b1.url] } });
    await expect(traffic.setWeights(scope, { blue: 90, green: 10 })).rejects.toThrow(/no green backend/);
    await expect(traffic.setWeights(scope, { blue: 60, green: 30 })).rejects.toThrow(/sum to 100/);
    await traffic.setBackends(scope, {
      blue: { version: "v1", instances: [b1.url] },
      green: { version: "v2", instances: [g1.url] },
    });
    const a = await traffic.setWeights(scope, { blue: 99, green: 1 });
    const b = await traffic.setWeights(scope, { blue: 99, green: 1 });
    expect(b.tableVersion).toBe(a.tableVersion);
    expect(b.split).toEqual({ blue: 99, green: 1 });
    const c = await traffic.setWeights(scope, { blue: 0, green: 100 });
    expect(c.tableVersion).toBe(a.tableVersion + 1);
    expect((await traffic.getRoutes(scope)).split).toEqual({ blue: 0, green: 100 });
  });

  it("waitApplied reads back the table and refuses a split whose weighted backend has no healthy instance", async () => {
    const { router, traffic, b1, g1 } = await setup();
    await traffic.setBackends(scope, {
      blue: { version: "v1", instances: [b1.url] },
      green: { version: "v2", instances: [g1.url] },
    });
    const applied = await traffic.setWeights(scope, { blue: 50, green: 50 });
    const confirmed = await traffic.waitApplied(scope, applied.tableVersion, 2000);
    expect(confirmed.tableVersion).toBe(applied.tableVersion);
    expect(router.table().version).toBe(applied.tableVersion);
    // A version the router never reached times out.
    await expect(traffic.waitApplied(scope, applied.tableVersion + 5, 300)).rejects.toThrow(/did not reach/);

    g1.healthy = false;
    const deadline = Date.now() + 5000;
    while ((await router.routes()).backends.green?.healthy.length !== 0) {
      if (Date.now() > deadline) throw new Error("green never went down");
      await new Promise((r) => setTimeout(r, 50));
    }
    await expect(traffic.waitApplied(scope, applied.tableVersion, 500)).rejects.toThrow(
      /green has weight and no healthy/,
    );
    const back = await traffic.setWeights(scope, { blue: 100, green: 0 });
    expect((await traffic.waitApplied(scope, back.tableVersion, 1000)).split).toEqual({
      blue: 100,
      green: 0,
    });
  });

  it("refuses to detach the serving blue for a green of the same version (issue 16)", async () => {
    const { traffic, b1, g1 } = await setup();
    await traffic.setBackends(scope, { blue: { version: "v2", instances: [b1.url] } });
    await expect(
      traffic.setBackends(scope, { green: { version: "v2", instances: [g1.url] } }),
    ).rejects.toThrow(/serving/);
    const after = await traffic.getRoutes(scope);
    expect(after.backends).toEqual({ blue: { version: "v2", instances: [b1.url] } });
    expect(after.split).toEqual({ blue: 100, green: 0 });
  });
});
