import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { localStackName } from "../../../infra/local/program";
import { RouterClient } from "../../../infra/local/router/client";
import {
  ensureRouterProcess,
  type RouterProcessInfo,
  routerOverrideToken,
  routerProcessHealth,
  stopRouterProcess,
} from "../../../infra/local/router-process";
import { createLocalTrafficRouter } from "../../../infra/local/traffic-router";
import type { VersionEnvironmentRef } from "../../../lib/drivers/common";
import { portIsFree } from "../../../lib/runtime/free-port";
import { freshDatabase } from "../../support/postgres";
import {
  expectNothingLeft,
  get,
  localDriver,
  portsOf,
  processesOfStack,
  SHOP_ARTIFACT,
  shopRun,
} from "./helpers";

/**
 * The local target on real parts: Pulumi CLI (file backend), detached shop
 * processes on PostgreSQL, the router as a detached process.
 */
const stateDir = path.join(inject("testStateDir"), "local-environment");
const { driver: localInfraDriver } = localDriver(stateDir);
const scope = { service: "shop", environment: "envtest" };
const ref = (version: string): VersionEnvironmentRef => ({ deploymentId: "d-env", ...scope, version });
const log: string[] = [];
const progress = (m: string) => log.push(m);
let db: Awaited<ReturnType<typeof freshDatabase>>;
let router: RouterProcessInfo;

beforeAll(async () => {
  fs.mkdirSync(stateDir, { recursive: true });
  db = await freshDatabase("localenv");
  router = await ensureRouterProcess("shop-envtest", { stateDir });
});

afterAll(async () => {
  for (const v of ["v1", "v2", "v3"])
    await localInfraDriver.destroyEnvironment(ref(v), progress).catch(() => {});
  if (router) await stopRouterProcess("shop-envtest", { purge: true, stateDir });
  await db?.drop();
});

describe("local target: environments and the router", () => {
  it("provisions blue and green, reaches green only via the header override, destroys without leaks", async () => {
    const env = { DATABASE_URL: db.url, SHOP_AUTO_SCHEMA: "1" };
    const blue = await localInfraDriver.provisionEnvironment(
      ref("v1"),
      { artifact: SHOP_ARTIFACT, run: shopRun(), env },
      progress,
    );
    const green = await localInfraDriver.provisionEnvironment(
      ref("v2"),
      { artifact: SHOP_ARTIFACT, run: shopRun(), env },
      progress,
    );
    expect(blue.stackName).toBe(localStackName(ref("v1"), stateDir));
    expect(green.instances).toHaveLength(2);
    for (const i of [...blue.instances, ...green.instances]) {
      expect(i.pid).toBeGreaterThan(0);
      expect(fs.existsSync(i.logFile ?? "")).toBe(true);
      const h = await get(`${i.url}/health`);
      expect(h.status).toBe(200);
    }
    expect(log.some((m) => m.startsWith("create instance-"))).toBe(true);

    // Provisioning again is a no-op: same processes, same URLs.
    const again = await localInfraDriver.provisionEnvironment(
      ref("v2"),
      { artifact: SHOP_ARTIFACT, run: shopRun(), env },
      progress,
    );
    expect(again.instances).toEqual(green.instances);
    expect(processesOfStack(green.stackName).length).toBeGreaterThanOrEqual(2);
    // An instance that died is noticed (refresh) and started again; the healthy one is kept.
    process.kill(-(green.instances[1]?.pid ?? 0), "SIGKILL");
    while (processesOfStack(green.stackName).includes(green.instances[1]?.pid ?? 0)) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const healed = await localInfraDriver.provisionEnvironment(
      ref("v2"),
      { artifact: SHOP_ARTIFACT, run: shopRun(), env },
      progress,
    );
    expect(healed.instances[0]).toEqual(green.instances[0]);
    expect(healed.instances[1]?.pid).not.toBe(green.instances[1]?.pid);
    expect((await get(`${healed.instances[1]?.url}/health`)).status).toBe(200);
    green.instances = healed.instances;

    const traffic = createLocalTrafficRouter({ adminUrl: router.adminUrl, token: router.token });
    const applied = await traffic.setBackends(scope, {
      blue: { version: "v1", instances: blue.instances.map((i) => i.url) },
      green: { version: "v2", instances: green.instances.map((i) => i.url) },
    });
    expect(applied.split).toEqual({ blue: 100, green: 0 });
    await traffic.waitApplied(scope, applied.tableVersion, 5000);

    const overrideToGreen = {
      "x-shipshape-version": "green",
      "x-shipshape-override-token": (await routerOverrideToken("shop-envtest", stateDir)) ?? "",
    };
    for (let n = 0; n < 20; n++) {
      const viaHeader = await get(`${router.url}/api/products`, overrideToGreen);
      expect(viaHeader.status).toBe(200);
      expect(viaHeader.backend).toBe("green");
      expect(viaHeader.version).toBe("v2");
      expect(JSON.parse(viaHeader.body).items.length).toBeGreaterThan(0);
      const plain = await get(`${router.url}/api/products`);
      expect(plain.backend).toBe("blue");
      expect(plain.version).toBe("v1");
      // The header alone (no token) is ignored: a user cannot pick the unreleased version.
      const noToken = await get(`${router.url}/api/products`, { "x-shipshape-version": "green" });
      expect(noToken.version).toBe("v1");
    }

    // Green is removed from the router, then destroyed: nothing is left.
    await traffic.setBackends(scope, {
      blue: { version: "v1", instances: blue.instances.map((i) => i.url) },
    });
    const greenPorts = portsOf(green);
    expect(await localInfraDriver.destroyEnvironment(ref("v2"), progress)).toEqual({ existed: true });
    await expectNothingLeft(green.stackName, stateDir, greenPorts);
    expect(await localInfraDriver.destroyEnvironment(ref("v2"), progress)).toEqual({ existed: false });
    // Blue kept serving throughout.
    expect((await get(`${router.url}/api/products`)).version).toBe("v1");
  });

  it("an instance that fails its health check never receives traffic; a version that cannot start is never provisioned", async () => {
    const env = { DATABASE_URL: db.url, SHOP_AUTO_SCHEMA: "1" };
    const blue = await localInfraDriver.provisionEnvironment(
      ref("v1"),
      { artifact: SHOP_ARTIFACT, run: shopRun(), env },
      progress,
    );
    const flag = path.join(stateDir, "v3-unhealthy");
    const green = await localInfraDriver.provisionEnvironment(
      ref("v3"),
      { artifact: SHOP_ARTIFACT, run: shopRun(), env: { ...env, SHOP_UNHEALTHY_FILE: flag } },
      progress,
    );
    const traffic = createLocalTrafficRouter({ adminUrl: router.adminUrl, token: router.token });
    const client = new RouterClient({ adminUrl: router.adminUrl, token: router.token });
    await traffic.setBackends(scope, {
      blue: { version: "v1", instances: blue.instances.map((i) => i.url) },
      green: { version: "v3", instances: green.instances.map((i) => i.url) },
    });
    // Instance 0 of green turns unhealthy at runtime; wait until the router's active check sees it.
    const [sick, well] = portsOf(green);
    fs.writeFileSync(`${flag}.${sick}`, "");
    const deadline = Date.now() + 15_000;
    for (;;) {
      const routes = await client.getRoutes();
      if (routes.backends.green?.unhealthy.some((u) => u.endsWith(`:${sick}`))) break;
      if (Date.now() > deadline) throw new Error("router never marked the instance unhealthy");
      await new Promise((r) => setTimeout(r, 100));
    }
    const split = await traffic.setWeights(scope, { blue: 50, green: 50 });
    await traffic.waitApplied(scope, split.tableVersion, 5000);
    const seen: Record<string, number> = {};
    for (let n = 0; n < 300; n++) {
      const r = await get(`${router.url}/api/products`);
      expect(r.status).toBe(200);
      const k = `${r.backend}:${r.instance}`;
      seen[k] = (seen[k] ?? 0) + 1;
    }
    expect(seen[`green:${sick}`]).toBeUndefined();
    expect(seen[`green:${well}`]).toBeGreaterThan(50); // green still gets its share, on the healthy instance
    expect((seen[`blue:${portsOf(blue)[0]}`] ?? 0) + (seen[`blue:${portsOf(blue)[1]}`] ?? 0)).toBeGreaterThan(
      50,
    );

    // Whole green unhealthy: no user request reaches it even at weight 50, and the
    // read-back refuses to call a split with weight on a dead backend "applied".
    fs.writeFileSync(flag, "");
    const deadline2 = Date.now() + 15_000;
    while ((await client.getRoutes()).backends.green?.healthy.length !== 0) {
      if (Date.now() > deadline2) throw new Error("router never marked green unhealthy");
      await new Promise((r) => setTimeout(r, 100));
    }
    for (let n = 0; n < 100; n++) {
      const r = await get(`${router.url}/api/products`);
      expect(r.status).toBe(200);
      expect(r.backend).toBe("blue");
    }
    const overrideToGreen = {
      "x-shipshape-version": "green",
      "x-shipshape-override-token": (await routerOverrideToken("shop-envtest", stateDir)) ?? "",
    };
    expect((await get(`${router.url}/api/products`, overrideToGreen)).status).toBe(503);
    const stuck = await traffic.setWeights(scope, { blue: 40, green: 60 });
    await expect(traffic.waitApplied(scope, stuck.tableVersion, 1500)).rejects.toThrow(/no healthy instance/);

    await traffic.setWeights(scope, { blue: 100, green: 0 });
    await traffic.setBackends(scope, {
      blue: { version: "v1", instances: blue.instances.map((i) => i.url) },
    });
    await localInfraDriver.destroyEnvironment(ref("v3"), progress);
    await expectNothingLeft(green.stackName, stateDir, portsOf(green));

    // SHOP_FAIL_START=1: create fails after killing the process; nothing is left to route to.
    await expect(
      localInfraDriver.provisionEnvironment(
        ref("v3"),
        {
          artifact: SHOP_ARTIFACT,
          run: shopRun({ startTimeout: 10_000 }),
          env: { ...env, SHOP_FAIL_START: "1" },
        },
        progress,
      ),
    ).rejects.toThrow(/exited before it became healthy|not healthy/);
    expect(processesOfStack(localStackName(ref("v3"), stateDir))).toEqual([]);
    expect(await localInfraDriver.destroyEnvironment(ref("v3"), progress)).toEqual({ existed: true });
    await expectNothingLeft(localStackName(ref("v3"), stateDir), stateDir, []);

    await localInfraDriver.destroyEnvironment(ref("v1"), progress);
    await expectNothingLeft(blue.stackName, stateDir, portsOf(blue));
  });

  it("the router process restarts on the same ports and keeps its split", async () => {
    const traffic = createLocalTrafficRouter({ adminUrl: router.adminUrl, token: router.token });
    const before = await traffic.getRoutes(scope);
    const { port, adminPort, pid } = router;
    expect((await stopRouterProcess("shop-envtest", { stateDir })).stopped).toBe(true);
    expect(await portIsFree(port)).toBe(true);
    expect((await routerProcessHealth("shop-envtest", stateDir)).running).toBe(false);
    router = await ensureRouterProcess("shop-envtest", { stateDir });
    expect(router.pid).not.toBe(pid);
    expect([router.port, router.adminPort]).toEqual([port, adminPort]);
    const after = await createLocalTrafficRouter({
      adminUrl: router.adminUrl,
      token: router.token,
    }).getRoutes(scope);
    expect(after).toEqual(before);
  });
});
