import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { instanceUserFor } from "../../../infra/local/instance-user";
import { LOCAL_PROJECT, legacyLocalStackName, localProgram } from "../../../infra/local/program";
import {
  ensureRouterProcess,
  legacyRouterNameFor,
  stopRouterProcess,
} from "../../../infra/local/router-process";
import { createLocalTarget } from "../../../infra/local/target";
import { openStack, stackExists } from "../../../infra/pulumi/workspace";
import type { VersionEnvironmentRef } from "../../../lib/drivers/common";
import type { ProvisionedEnvironment } from "../../../lib/drivers/infra-driver";
import { freshDatabase } from "../../support/postgres";
import { get, localDriver, processesOfStack, SHOP_ARTIFACT, shopRun } from "./helpers";

/**
 * Names on the real local target: version environments and routers whose
 * old names collided (`shop/prod-eu` and `shop-prod/eu`, versions `1.2` and
 * `1-2`) run side by side, and stacks and routers made under the old names
 * are adopted by their own version or scope only.
 */
const stateDir = path.join(inject("testStateDir"), "local-names");
const { driver, pulumi } = localDriver(stateDir);
const progress = () => {};
const ref = (service: string, environment: string, version: string): VersionEnvironmentRef => ({
  deploymentId: "d-names",
  service,
  environment,
  version,
});
// Readable forms all shop-nprod-eu-1-2: one stack under the old naming.
const A = ref("shop", "nprod-eu", "1.2");
const B = ref("shop-nprod", "eu", "1.2");
const C = ref("shop", "nprod-eu", "1-2");
// Legacy adoption: readable forms shop-nleg-eu-v1.
const L = ref("shop", "nleg-eu", "v1");
const M = ref("shop-nleg", "eu", "v1");
const ALL = [A, B, C, L, M];
let db: Awaited<ReturnType<typeof freshDatabase>>;

beforeAll(async () => {
  fs.mkdirSync(stateDir, { recursive: true });
  db = await freshDatabase("localnames");
});

afterAll(async () => {
  for (const r of ALL) await driver.destroyEnvironment(r, progress).catch(() => {});
  for (const name of fs.existsSync(path.join(stateDir, "router"))
    ? fs.readdirSync(path.join(stateDir, "router"))
    : [])
    await stopRouterProcess(name, { purge: true, stateDir }).catch(() => {});
  await db?.drop();
});

const run = () => shopRun({ instances: 1 });
const env = () => ({ DATABASE_URL: db.url, SHOP_AUTO_SCHEMA: "1" });
const provision = (r: VersionEnvironmentRef) =>
  driver.provisionEnvironment(r, { artifact: SHOP_ARTIFACT, run: run(), env: env() }, progress);

/** The environment's first processes still run (no provision replaced them). */
function stillRuns(e: ProvisionedEnvironment): void {
  const live = processesOfStack(e.stackName, stateDir);
  for (const i of e.instances) expect(live, `${e.stackName} runs ${i.pid}`).toContain(i.pid);
}

async function serves(e: ProvisionedEnvironment, version: string): Promise<void> {
  for (const i of e.instances) {
    const h = await get(`${i.url}/health`);
    expect(h.status, `${i.url} healthy`).toBe(200);
    expect(h.version).toBe(version);
  }
}

describe("local target: names that collided before", () => {
  it("shop/nprod-eu@1.2, shop-nprod/eu@1.2 and shop/nprod-eu@1-2 run side by side; destroying one keeps the others", async () => {
    const a = await provision(A);
    const b = await provision(B);
    const c = await provision(C);
    expect(new Set([a.stackName, b.stackName, c.stackName]).size).toBe(3);
    // Each still runs its own first processes: nobody's provision replaced another's.
    for (const [e, version] of [
      [a, "1.2"],
      [b, "1.2"],
      [c, "1-2"],
    ] as const) {
      stillRuns(e);
      await serves(e, version);
    }
    await driver.destroyEnvironment(A, progress);
    expect(processesOfStack(a.stackName, stateDir)).toEqual([]);
    stillRuns(b);
    stillRuns(c);
    await serves(b, "1.2");
    await driver.destroyEnvironment(B, progress);
    await driver.destroyEnvironment(C, progress);
    expect(processesOfStack(c.stackName, stateDir)).toEqual([]);
  });

  it("shop/nprod-eu and shop-nprod/eu get a router each", async () => {
    const target = createLocalTarget(
      { stateDir, pulumi, log: () => {} },
      { kind: "local", healthPath: "/health" },
    );
    const scopeA = { service: A.service, environment: A.environment };
    const scopeB = { service: B.service, environment: B.environment };
    const [ea, eb] = [await target.endpoint(scopeA), await target.endpoint(scopeB)];
    expect(ea).not.toBe(eb);
    await target.router.setBackends(scopeA, { blue: { version: "1.2", instances: ["http://127.0.0.1:9/"] } });
    expect((await target.router.getRoutes(scopeA)).backends.blue?.version).toBe("1.2");
    expect((await target.router.getRoutes(scopeB)).backends.blue).toBeUndefined();
  });
});

describe("local target: stacks and routers made under the old names", () => {
  it("a legacy stack is adopted by its own version (same processes), not by the one whose name collides", async () => {
    // What an earlier release made for L: a stack under the old name, its instance keys under it,
    // run as this worker runs instances (as the instance user when the worker is root).
    const legacy = legacyLocalStackName(L);
    const runAs = instanceUserFor(process.env);
    expect(legacyLocalStackName(M)).toBe(legacy);
    const { stack } = await openStack(pulumi, {
      projectName: LOCAL_PROJECT,
      stackName: legacy,
      program: localProgram({
        stackName: legacy,
        stateDir,
        command: run().command,
        cwd: SHOP_ARTIFACT.location,
        instances: 1,
        healthPath: "/health",
        startTimeoutMs: 20_000,
        env: {
          ...run().env,
          ...env(),
          SHIPSHAPE_SERVICE: L.service,
          SHIPSHAPE_ENVIRONMENT: L.environment,
          SHIPSHAPE_VERSION: L.version,
          SHIPSHAPE_ARTIFACT_DIGEST: SHOP_ARTIFACT.digest,
        },
        ...(runAs ? { runAs: { uid: runAs.uid, gid: runAs.gid } } : {}),
      }),
    });
    await stack.up({ color: "never" });
    const before = processesOfStack(legacy, stateDir);
    expect(before.length).toBeGreaterThan(0);

    // M reads the same old name but is not the legacy stack's version: a stack of its own.
    const m = await provision(M);
    expect(m.stackName).not.toBe(legacy);
    expect(processesOfStack(legacy, stateDir)).toEqual(before);

    // L adopts it: same stack, same process, still serving.
    const l = await provision(L);
    expect(l.stackName).toBe(legacy);
    expect(processesOfStack(legacy, stateDir)).toEqual(before);
    await serves(l, "v1");

    // M's destroy leaves L alone; L's destroy removes the legacy stack and its process.
    await driver.destroyEnvironment(M, progress);
    expect(processesOfStack(legacy, stateDir)).toEqual(before);
    expect(await stackExists(pulumi, LOCAL_PROJECT, legacy)).toBe(true);
    await driver.destroyEnvironment(L, progress);
    expect(processesOfStack(legacy, stateDir)).toEqual([]);
    expect(await stackExists(pulumi, LOCAL_PROJECT, legacy)).toBe(false);
  });

  it("a legacy router keeps serving its scope (claimed by the first one to use it); the colliding scope gets its own", async () => {
    const scopeL = { service: L.service, environment: L.environment };
    const scopeM = { service: M.service, environment: M.environment };
    const legacyName = legacyRouterNameFor(scopeL);
    const old = await ensureRouterProcess(legacyName, { stateDir });
    const target = createLocalTarget(
      { stateDir, pulumi, log: () => {} },
      { kind: "local", healthPath: "/health" },
    );
    expect(await target.endpoint(scopeL)).toBe(old.url);
    expect(await target.endpoint(scopeM)).not.toBe(old.url);
    // The claim is recorded: a fresh target (a restarted worker) resolves the same way.
    const again = createLocalTarget(
      { stateDir, pulumi, log: () => {} },
      { kind: "local", healthPath: "/health" },
    );
    expect(await again.endpoint(scopeM)).not.toBe(old.url);
    expect(await again.endpoint(scopeL)).toBe(old.url);
  });
});
