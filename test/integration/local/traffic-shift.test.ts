import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { RouterClient } from "../../../infra/local/router/client";
import {
  ensureRouterProcess,
  type RouterProcessInfo,
  routerOverrideToken,
  stopRouterProcess,
} from "../../../infra/local/router-process";
import { createLocalTrafficRouter } from "../../../infra/local/traffic-router";
import type { VersionEnvironmentRef } from "../../../lib/drivers/common";
import type { ProvisionedEnvironment } from "../../../lib/drivers/infra-driver";
import type { BackendSpec } from "../../../lib/drivers/traffic-router";
import { generateLoad } from "../../../scripts/load/generate-load";
import { freshDatabase } from "../../support/postgres";
import {
  expectNothingLeft,
  expectShare,
  localDriver,
  portsOf,
  processesOfStack,
  SHOP_ARTIFACT,
  shopRun,
} from "./helpers";

/**
 * Shop v1 → v2 on the real drivers, the way the deployment workflow drives
 * them: provision green, register it dark, verify it via the override header,
 * shift 1% → 10% → 100% with a read-back before each bake, promote, destroy
 * blue. And the failure path: a bad v2 caught at 10% is rolled back to v1
 * (traffic first, then the environment) with nothing leaked. Traffic is the
 * mixed shop load (browse, cart, checkout) through the router.
 */
const stateDir = path.join(inject("testStateDir"), "local-shift");
const { driver: localInfraDriver } = localDriver(stateDir);
const scope = { service: "shop", environment: "shift" };
const ref = (version: string): VersionEnvironmentRef => ({ deploymentId: "d-shift", ...scope, version });
const progress = () => {};
let db: Awaited<ReturnType<typeof freshDatabase>>;
let router: RouterProcessInfo;

beforeAll(async () => {
  fs.mkdirSync(stateDir, { recursive: true });
  db = await freshDatabase("localshift");
  router = await ensureRouterProcess("shop-shift", { stateDir });
});

afterAll(async () => {
  for (const v of ["v1", "v2"]) await localInfraDriver.destroyEnvironment(ref(v), progress).catch(() => {});
  if (router) await stopRouterProcess("shop-shift", { purge: true, stateDir });
  await db?.drop();
});

const spec = (version: string, env: ProvisionedEnvironment): BackendSpec => ({
  version,
  instances: env.instances.map((i) => i.url),
});

function load(maxRequests: number, headers: Record<string, string> = {}) {
  return generateLoad({ url: router.url, durationMs: 30_000, maxRequests, concurrency: 6, headers });
}

describe("local target: traffic shift through the real drivers", () => {
  it("driver calls as the workflow makes them: a bad v2 at 10% taken back to v1, then a good v2 through 1% / 10% / 100% and v1 decommissioned", async () => {
    const traffic = createLocalTrafficRouter({ adminUrl: router.adminUrl, token: router.token });
    const admin = new RouterClient({ adminUrl: router.adminUrl, token: router.token });
    const appEnv = { DATABASE_URL: db.url, SHOP_AUTO_SCHEMA: "1" };

    const v1 = await localInfraDriver.provisionEnvironment(
      ref("v1"),
      { artifact: SHOP_ARTIFACT, run: shopRun(), env: appEnv },
      progress,
    );
    const blueOnly = await traffic.setBackends(scope, { blue: spec("v1", v1) });
    await traffic.waitApplied(scope, blueOnly.tableVersion, 5000);
    const warm = await load(200);
    expect(warm.errors).toBe(0);
    expect(warm.byVersion).toEqual({ v1: 200 });

    // ---- a bad v2 (30% of API calls fail): caught at 10%, rolled back.
    const bad = await localInfraDriver.provisionEnvironment(
      ref("v2"),
      { artifact: SHOP_ARTIFACT, run: shopRun(), env: { ...appEnv, SHOP_ERROR_RATE: "0.3" } },
      progress,
    );
    await traffic.setBackends(scope, { blue: spec("v1", v1), green: spec("v2", bad) });
    for (const w of [1, 10]) {
      const applied = await traffic.setWeights(scope, { blue: 100 - w, green: w });
      expect((await traffic.waitApplied(scope, applied.tableVersion, 5000)).split.green).toBe(w);
    }
    const canary = await load(1000);
    expect(canary.byBackend.green ?? 0).toBeGreaterThan(0);
    const stats = await admin.stats(60);
    expect(stats.backends.green?.errorRate ?? 0).toBeGreaterThan(0.1); // the analysis would fail here
    expect(stats.backends.blue?.errors ?? -1).toBe(0);
    // Rollback: traffic first (read back), then the environment.
    const back = await traffic.setWeights(scope, { blue: 100, green: 0 });
    await traffic.waitApplied(scope, back.tableVersion, 5000);
    const afterRollback = await load(300);
    expect(afterRollback.byBackend).toEqual({ blue: 300 });
    expect(afterRollback.errors).toBe(0);
    await traffic.setBackends(scope, { blue: spec("v1", v1) });
    await localInfraDriver.destroyEnvironment(ref("v2"), progress);
    await expectNothingLeft(bad.stackName, stateDir, portsOf(bad));
    expect(processesOfStack(v1.stackName).length).toBeGreaterThanOrEqual(2);

    // ---- a good v2: verify via the override, then 1% → 10% → 100%.
    const v2 = await localInfraDriver.provisionEnvironment(
      ref("v2"),
      { artifact: SHOP_ARTIFACT, run: shopRun(), env: appEnv },
      progress,
    );
    const registered = await traffic.setBackends(scope, { blue: spec("v1", v1), green: spec("v2", v2) });
    expect(registered.split).toEqual({ blue: 100, green: 0 });
    // A tester reaches green before it has traffic: override header + this deployment's token.
    const token = (await routerOverrideToken("shop-shift", stateDir)) ?? "";
    const statsBefore = await admin.stats(60);
    const verify = await load(200, { "x-shipshape-version": "green", "x-shipshape-override-token": token });
    expect(verify.byVersion).toEqual({ v2: 200 });
    expect(verify.errors).toBe(0);
    // ...and that test traffic is not in the numbers the analysis judges.
    const statsAfter = await admin.stats(60);
    expect(statsAfter.backends.green?.requests ?? 0).toBe(statsBefore.backends.green?.requests ?? 0);

    for (const w of [1, 10, 100]) {
      const applied = await traffic.setWeights(scope, { blue: 100 - w, green: w });
      // Idempotent: the same call again (an activity retry) returns the same table version.
      const retried = await traffic.setWeights(scope, { blue: 100 - w, green: w });
      expect(retried.tableVersion).toBe(applied.tableVersion);
      const confirmed = await traffic.waitApplied(scope, applied.tableVersion, 5000);
      expect(confirmed.split).toEqual({ blue: 100 - w, green: w });
      expect((await traffic.getRoutes(scope)).tableVersion).toBe(applied.tableVersion);
      const n = w === 100 ? 300 : 1500;
      const r = await load(n);
      expect(r.errors).toBe(0);
      expect(r.requests).toBe(n);
      expectShare(r.byBackend.green ?? 0, r.requests, w / 100);
      expect(r.byVersion.v2 ?? 0).toBe(r.byBackend.green ?? 0);
    }

    // Promote: green becomes blue in one atomic table change, then v1 goes away.
    const promoted = await traffic.setBackends(scope, { blue: spec("v2", v2) });
    await traffic.waitApplied(scope, promoted.tableVersion, 5000);
    expect(promoted.backends).toEqual({ blue: spec("v2", v2) });
    expect(promoted.split).toEqual({ blue: 100, green: 0 });
    await localInfraDriver.destroyEnvironment(ref("v1"), progress);
    await expectNothingLeft(v1.stackName, stateDir, portsOf(v1));
    const final = await load(300);
    expect(final.byVersion).toEqual({ v2: 300 });
    expect(final.errors).toBe(0);
    expect(final.checkouts).toBeGreaterThan(0);

    await localInfraDriver.destroyEnvironment(ref("v2"), progress);
    await expectNothingLeft(v2.stackName, stateDir, portsOf(v2));
  });
});
