import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  ensureRouterProcess,
  readRouterProcess,
  routerProcessDir,
  stopRouterProcess,
} from "../../../../infra/local/router-process";
import { routerControlGroups } from "../../../../infra/local/stray-routers";
import { PROJECT_ROOT } from "../../../../lib/runtime/paths";
import { listProcs } from "../../../../lib/runtime/procfs";

// A worker killed while it starts a router (after spawning the control
// process, before recording it in process.json) left that router running,
// unrecorded: the retried activity started a second one beside it, and no
// stop ever reached the first (the chaos campaign's leak check caught one
// still running after teardown).
const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "shipshape-router-crash-"));
afterAll(async () => {
  for (const name of ["crash-then-start", "crash-then-stop"])
    await stopRouterProcess(name, { purge: true, stateDir });
  fs.rmSync(stateDir, { recursive: true, force: true });
});

const routesFile = (name: string) => path.join(routerProcessDir(name, stateDir), "routes.json");
const haproxies = (name: string) =>
  listProcs().filter(
    (p) =>
      !p.zombie &&
      /haproxy$/.test(p.argv[0] ?? "") &&
      p.argv.join(" ").includes(routerProcessDir(name, stateDir)),
  );

/** Runs the starter until its control process exists, then SIGKILLs it (as a worker crash would). */
async function starterKilledMidStart(name: string): Promise<number[]> {
  const starter = spawn(
    path.join(PROJECT_ROOT, "node_modules", ".bin", "tsx"),
    [path.join(__dirname, "fixtures", "start-router.ts"), name, stateDir],
    // Its own group: tsx runs the script in a node child, and a crash takes both.
    { stdio: "ignore", detached: true },
  );
  const exited = new Promise((r) => starter.once("exit", r));
  const deadline = Date.now() + 30_000;
  while (routerControlGroups(routesFile(name)).length === 0) {
    if (Date.now() > deadline || starter.exitCode !== null)
      throw new Error("the starter never spawned a router");
    await new Promise((r) => setTimeout(r, 10));
  }
  process.kill(-(starter.pid as number), "SIGKILL");
  await exited;
  // The case under test: nothing records the router that keeps starting.
  expect(readRouterProcess(name, stateDir)).toBeUndefined();
  return routerControlGroups(routesFile(name));
}

describe("a router whose starter was killed mid-start", () => {
  it("is replaced, not joined, by the next start: one control process and one HAProxy remain", async () => {
    const strays = await starterKilledMidStart("crash-then-start");
    expect(strays).toHaveLength(1);
    // Let the stray come up fully (its HAProxy too) before the retry.
    await new Promise((r) => setTimeout(r, 3000));
    const info = await ensureRouterProcess("crash-then-start", { stateDir });
    expect(routerControlGroups(routesFile("crash-then-start"))).toEqual([info.pid]);
    expect(haproxies("crash-then-start").map((p) => p.pgid)).toEqual([info.pid]);
    await stopRouterProcess("crash-then-start", { purge: true, stateDir });
    expect(routerControlGroups(routesFile("crash-then-start"))).toEqual([]);
    expect(haproxies("crash-then-start")).toEqual([]);
  }, 90_000);

  it("is stopped by a stop, with its HAProxy, though no process.json names it", async () => {
    await starterKilledMidStart("crash-then-stop");
    await new Promise((r) => setTimeout(r, 3000));
    expect(haproxies("crash-then-stop")).toHaveLength(1);
    const { stopped } = await stopRouterProcess("crash-then-stop", { stateDir });
    expect(stopped).toBe(true);
    // Its HAProxy is not started again: its control process is gone with it.
    await new Promise((r) => setTimeout(r, 1500));
    expect(routerControlGroups(routesFile("crash-then-stop"))).toEqual([]);
    expect(haproxies("crash-then-stop")).toEqual([]);
  }, 90_000);
});
