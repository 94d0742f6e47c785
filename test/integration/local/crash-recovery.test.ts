import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { LOCAL_PROJECT, localStackName, localStackPaths } from "../../../infra/local/program";
import { listLocks } from "../../../infra/pulumi/stack-locks";
import type { VersionEnvironmentRef } from "../../../lib/drivers/common";
import { PROJECT_ROOT } from "../../../lib/runtime/paths";
import { isAlive, signalGroup, spawnDetached, tailLog } from "../../../lib/runtime/process-group";
import { pulumiCliProcesses, pulumiProcesses } from "../../../scripts/chaos/system";
import { freshDatabase } from "../../support/postgres";
import {
  backendDirOf,
  checkpoint,
  dynamicResources,
  expectNothingLeft,
  get,
  localDriver,
  portsOf,
  processesOfStack,
  SHOP_ARTIFACT,
  shopRun,
} from "./helpers";

/**
 * `pulumi up` SIGKILLed in the middle of creating the instances (the process
 * that drives it, the pulumi CLI and the provider plugin die together; the
 * half-started shop processes live on in their own groups). Then:
 *   - a retry converges: stale lock cleared, pending creates cleared, the
 *     orphaned processes adopted — exactly `instances` processes, none leaked;
 *   - or a compensation (destroy) right after the crash leaves nothing.
 */
const stateDir = path.join(inject("testStateDir"), "local-crash");
const { driver: localInfraDriver, pulumi } = localDriver(stateDir);
const backendDir = backendDirOf(pulumi);
// Its own environment name: instance keys are machine-wide, and worker-crash.test.ts (running in
// parallel) deploys shop/crash — a destroy there would reap these instances by key.
const scope = { service: "shop", environment: "pcrash" };
const ref = (version: string): VersionEnvironmentRef => ({ deploymentId: "d-crash", ...scope, version });
const progress = () => {};
let db: Awaited<ReturnType<typeof freshDatabase>>;

beforeAll(async () => {
  fs.mkdirSync(stateDir, { recursive: true });
  db = await freshDatabase("localcrash");
});

afterAll(async () => {
  for (const v of ["v1", "v2", "v3"])
    await localInfraDriver.destroyEnvironment(ref(v), progress).catch(() => {});
  await db?.drop();
});

// A slow-starting instance keeps `pulumi up` inside create long enough to kill it there.
const slowRun = () => shopRun({ command: "sleep 4; exec node server.js", startTimeout: 30_000 });

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Waits until `version`'s create is in flight (both instances spawned, not healthy yet). */
async function startCreate(version: string) {
  const stackName = localStackName(ref(version), stateDir);
  const { runDir } = localStackPaths(stateDir, stackName);
  const logFile = path.join(stateDir, `child-${version}.log`);
  const input = {
    stateDir,
    ref: ref(version),
    run: slowRun(),
    env: { DATABASE_URL: db.url, SHOP_AUTO_SCHEMA: "1" },
    artifact: SHOP_ARTIFACT,
  };
  const child = spawnDetached(
    path.join(PROJECT_ROOT, "node_modules", ".bin", "tsx"),
    [path.join(__dirname, "fixtures", "provision-child.ts"), JSON.stringify(input)],
    { logFile, cwd: PROJECT_ROOT },
  );
  const deadline = Date.now() + 90_000;
  const pidfiles = () =>
    fs.existsSync(runDir) ? fs.readdirSync(runDir).filter((f) => /^instance-\d+\.json$/.test(f)) : [];
  while (pidfiles().length < 2) {
    if (Date.now() > deadline || !isAlive(child.pid))
      throw new Error(`create never started:\n${tailLog(logFile)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, stackName, logFile };
}

async function killMidCreate(version: string): Promise<{ orphans: number[]; stackName: string }> {
  const { child, stackName, logFile } = await startCreate(version);
  const { runDir } = localStackPaths(stateDir, stackName);
  const pidfiles = () => fs.readdirSync(runDir).filter((f) => /^instance-\d+\.json$/.test(f));
  expect(listLocks(backendDir, LOCAL_PROJECT, stackName)).toHaveLength(1);
  signalGroup(child.pid, "SIGKILL");
  await child.exited;
  // The child's group (automation API, pulumi CLI) is gone before we look at what it left; the
  // provider plugin runs in its own group and may live on (the retry or destroy stops it).
  const gone = Date.now() + 10_000;
  while (groupAlive(child.pid)) {
    if (Date.now() > gone) throw new Error("killed process group is still alive");
    await new Promise((r) => setTimeout(r, 50));
  }
  expect(fs.readFileSync(logFile, "utf8")).not.toMatch(/RESULT/);
  // What the crash left behind: a lock of a dead pulumi, pending creates, live orphan processes.
  expect(listLocks(backendDir, LOCAL_PROJECT, stackName)).toHaveLength(1);
  const orphans = pidfiles().map(
    (f) => JSON.parse(fs.readFileSync(path.join(runDir, f), "utf8")).pid as number,
  );
  expect(orphans.every((p) => isAlive(p))).toBe(true);
  expect(dynamicResources(pulumi, stackName)).toBe(0);
  expect(checkpoint(pulumi, stackName)?.pending.length).toBeGreaterThanOrEqual(1);
  return { orphans, stackName };
}

describe("local target: crash recovery of pulumi up", () => {
  it("SIGKILL of pulumi up mid-create, then a retry converges with nothing leaked", async () => {
    const { orphans, stackName } = await killMidCreate("v1");
    const pendingBefore = checkpoint(pulumi, stackName)?.pending.length ?? 0;
    const lines: string[] = [];
    const env = await localInfraDriver.provisionEnvironment(
      ref("v1"),
      { artifact: SHOP_ARTIFACT, run: slowRun(), env: { DATABASE_URL: db.url, SHOP_AUTO_SCHEMA: "1" } },
      (l) => lines.push(l),
    );
    expect(env.clearedLocks).toBe(1);
    expect(env.clearedPendingOperations).toBe(pendingBefore);
    // The half-finished creates were imported (recorded under their IDs), not forgotten and
    // created again: on a target whose resources have fixed names a second create fails.
    expect(env.importedPendingCreates).toBe(2);
    expect(lines).toContain("imported 2 pending create(s) left by an interrupted update");
    expect(lines.filter((l) => /^create instance-/.test(l))).toEqual([]);
    expect(env.instances).toHaveLength(2);
    // The orphaned processes were adopted, not duplicated.
    expect(env.instances.map((i) => i.pid).sort()).toEqual([...orphans].sort());
    const live = processesOfStack(stackName);
    for (const pid of orphans) expect(live).toContain(pid);
    expect(new Set(env.instances.map((i) => i.url)).size).toBe(2);
    for (const i of env.instances) expect((await get(`${i.url}/health`)).status).toBe(200);
    const state = checkpoint(pulumi, stackName);
    expect(state?.pending).toEqual([]);
    expect(dynamicResources(pulumi, stackName)).toBe(2);
    expect(listLocks(backendDir, LOCAL_PROJECT, stackName)).toEqual([]);
    expect(pulumiProcesses(pulumi)).toEqual([]);

    await localInfraDriver.destroyEnvironment(ref("v1"), progress);
    await expectNothingLeft(stackName, stateDir, portsOf(env));
    for (const pid of orphans) expect(isAlive(pid)).toBe(false);
  });

  it("SIGKILL of the pulumi CLI alone mid-create: its provider plugin lives on until the retry stops it", async () => {
    const { child, stackName } = await startCreate("v3");
    const [cli] = pulumiCliProcesses(pulumi);
    expect(cli, "a pulumi CLI is running the update").toBeDefined();
    process.kill((cli as { pid: number }).pid, "SIGKILL");
    await child.exited; // the automation API sees its CLI die and gives up
    // The crash leaves the provider plugin running, reparented away from any pulumi.
    await new Promise((r) => setTimeout(r, 500));
    const plugins = pulumiProcesses(pulumi).filter((p) => /pulumi-resource-/.test(p.cmdline));
    expect(plugins.length, "orphaned provider plugin after the CLI was killed").toBeGreaterThan(0);
    const lines: string[] = [];
    const env = await localInfraDriver.provisionEnvironment(
      ref("v3"),
      { artifact: SHOP_ARTIFACT, run: slowRun(), env: { DATABASE_URL: db.url, SHOP_AUTO_SCHEMA: "1" } },
      (l) => lines.push(l),
    );
    expect(lines.join("\n")).toMatch(/stopped \d+ orphaned pulumi plugin process\(es\)/);
    for (const p of plugins) expect(isAlive(p.pid)).toBe(false);
    expect(pulumiProcesses(pulumi)).toEqual([]);
    await localInfraDriver.destroyEnvironment(ref("v3"), progress);
    await expectNothingLeft(stackName, stateDir, portsOf(env));
  });

  it("a checkpoint sidecar torn by a kill mid-save no longer blocks the stack", async () => {
    // Seen in the worker-crash test: pulumi SIGKILLed while saving the checkpoint left
    // `<stack>.json.attrs` empty, and every later command failed "failed to load checkpoint: EOF".
    const run = shopRun();
    const spec = { run, artifact: SHOP_ARTIFACT, env: { DATABASE_URL: db.url, SHOP_AUTO_SCHEMA: "1" } };
    const first = await localInfraDriver.provisionEnvironment(ref("v4"), spec, progress);
    const stackName = localStackName(ref("v4"), stateDir);
    const attrs = path.join(backendDir, ".pulumi", "stacks", LOCAL_PROJECT, `${stackName}.json.attrs`);
    expect(fs.existsSync(attrs)).toBe(true);
    fs.writeFileSync(attrs, "");
    const lines: string[] = [];
    const again = await localInfraDriver.provisionEnvironment(ref("v4"), spec, (l) => lines.push(l));
    expect(lines.join("\n")).toMatch(/removed 1 torn checkpoint sidecar/);
    expect(again.instances.map((i) => i.pid)).toEqual(first.instances.map((i) => i.pid));
    await localInfraDriver.destroyEnvironment(ref("v4"), progress);
    await expectNothingLeft(stackName, stateDir, portsOf(first));
  });

  it("SIGKILL of pulumi up mid-create, then destroy (the compensation) leaves no process, port, stack or lock", async () => {
    const { orphans, stackName } = await killMidCreate("v2");
    const ports = fs
      .readdirSync(localStackPaths(stateDir, stackName).runDir)
      .filter((f) => /^instance-\d+\.json$/.test(f))
      .map(
        (f) =>
          JSON.parse(fs.readFileSync(path.join(localStackPaths(stateDir, stackName).runDir, f), "utf8"))
            .port as number,
      );
    // Make it harder: one orphan lost its pidfile (as if the crash hit between spawn and
    // pidfile write); destroy still finds it by its instance key.
    fs.rmSync(path.join(localStackPaths(stateDir, stackName).runDir, "instance-1.json"));
    expect(await localInfraDriver.destroyEnvironment(ref("v2"), progress)).toEqual({ existed: true });
    for (const pid of orphans) expect(isAlive(pid)).toBe(false);
    expect(pulumiProcesses(pulumi)).toEqual([]);
    await expectNothingLeft(stackName, stateDir, ports);
  });

  it("a provision aborted mid-create (the deployment rolled back) stops pulumi before it settles: nothing is created behind the destroy", async () => {
    const stackName = localStackName(ref("v5"), stateDir);
    const { runDir } = localStackPaths(stateDir, stackName);
    const abort = new AbortController();
    const provisioning = localInfraDriver
      .provisionEnvironment(
        ref("v5"),
        { artifact: SHOP_ARTIFACT, run: slowRun(), env: { DATABASE_URL: db.url, SHOP_AUTO_SCHEMA: "1" } },
        progress,
        abort.signal,
      )
      .then(
        () => "completed",
        (err: Error) => `failed: ${err.message.split("\n")[0]}`,
      );
    // Abort while the instances are being created (spawned, not healthy yet).
    const deadline = Date.now() + 90_000;
    const spawned = () =>
      fs.existsSync(runDir) ? fs.readdirSync(runDir).filter((f) => /^instance-\d+\.json$/.test(f)) : [];
    while (spawned().length === 0) {
      if (Date.now() > deadline) throw new Error("the create never started");
      await new Promise((r) => setTimeout(r, 50));
    }
    abort.abort();
    const outcome = await provisioning;
    // It stopped rather than finishing the update, and no pulumi runs on behind it.
    expect(outcome).toMatch(/^failed: /);
    expect(pulumiCliProcesses(pulumi)).toEqual([]);
    const ports = spawned().map(
      (f) => JSON.parse(fs.readFileSync(path.join(runDir, f), "utf8")).port as number,
    );
    // The compensation then leaves nothing, and nothing appears afterwards.
    await localInfraDriver.destroyEnvironment(ref("v5"), progress);
    await new Promise((r) => setTimeout(r, 5_000));
    expect(processesOfStack(stackName)).toEqual([]);
    await expectNothingLeft(stackName, stateDir, ports);
  });
});
