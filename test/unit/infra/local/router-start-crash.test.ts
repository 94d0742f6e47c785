import { spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  ensureRouterProcess,
  readRouterProcess,
  routerProcessDir,
  stopRouterProcess,
} from "../../../../infra/local/router-process";
import { routerControlPids } from "../../../../infra/local/stray-routers";
import { freePort } from "../../../../lib/runtime/free-port";
import { PROJECT_ROOT } from "../../../../lib/runtime/paths";
import { isAlive } from "../../../../lib/runtime/process-group";
import { listProcs, readProc } from "../../../../lib/runtime/procfs";
import { waitUntil } from "./router/helpers";

// A worker killed while it starts a router (after spawning the control
// process, before recording it in process.json) left that router running,
// unrecorded: the retried activity started a second one beside it, and no
// stop ever reached the first (the chaos campaign's leak check caught one
// still running after teardown).
/** One request to the router's port: its HTTP status, or how the connection failed. */
function answer(port: number): Promise<string> {
  return new Promise((resolve) => {
    const req = http.get({ host: "127.0.0.1", port, path: "/", agent: false }, (res) => {
      res.resume();
      res.on("end", () => resolve(String(res.statusCode)));
    });
    req.setTimeout(5000, () => req.destroy(new Error("timeout")));
    req.on("error", (err: NodeJS.ErrnoException) =>
      resolve(
        err.code === "ECONNREFUSED" ? "refused" : err.code === "ECONNRESET" ? "reset" : String(err.message),
      ),
    );
  });
}

const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "shipshape-router-crash-"));
afterAll(async () => {
  for (const name of ["crash-then-start", "crash-then-stop"])
    await stopRouterProcess(name, { purge: true, stateDir });
  fs.rmSync(stateDir, { recursive: true, force: true });
});

const routesFile = (name: string) => path.join(routerProcessDir(name, stateDir), "routes.json");
const pgidOf = (pid: number) => readProc(pid)?.pgid ?? -1;
/** Process groups of the control processes working on the router's table. */
const controlGroups = (name: string) => [...new Set(routerControlPids(routesFile(name)).map(pgidOf))];
const haproxies = (name: string) =>
  listProcs().filter(
    (p) =>
      !p.zombie &&
      /haproxy$/.test(p.argv[0] ?? "") &&
      p.argv.join(" ").includes(routerProcessDir(name, stateDir)),
  );

/** Runs the starter until its control process exists, then SIGKILLs it (as a worker crash would); the stray's group(s). */
async function starterKilledMidStart(name: string, port?: number): Promise<number[]> {
  const starter = spawn(
    path.join(PROJECT_ROOT, "node_modules", ".bin", "tsx"),
    [path.join(__dirname, "fixtures", "start-router.ts"), name, stateDir, ...(port ? [String(port)] : [])],
    // Its own group: tsx runs the script in a node child, and a crash takes both.
    { stdio: "ignore", detached: true },
  );
  const exited = new Promise((r) => starter.once("exit", r));
  const deadline = Date.now() + 30_000;
  while (controlGroups(name).length === 0) {
    if (Date.now() > deadline || starter.exitCode !== null)
      throw new Error("the starter never spawned a router");
    await new Promise((r) => setTimeout(r, 10));
  }
  process.kill(-(starter.pid as number), "SIGKILL");
  await exited;
  // The case under test: nothing records the router that keeps starting.
  expect(readRouterProcess(name, stateDir)).toBeUndefined();
  return controlGroups(name);
}

describe("a router whose starter was killed mid-start", () => {
  it("is replaced, not joined, by the next start, which takes its listener over: one control process and one HAProxy remain", async () => {
    const port = await freePort();
    const strays = await starterKilledMidStart("crash-then-start", port);
    expect(strays).toHaveLength(1);
    // The stray comes up fully and serves the port (local.listen's) before the retry.
    await waitUntil(async () => (await answer(port)) !== "refused", 20_000, "the stray router to serve");
    const strayHaproxy = haproxies("crash-then-start").map((p) => p.pid);
    expect(strayHaproxy).toHaveLength(1);
    const outcomes: string[] = [];
    let done = false;
    const clients = (async () => {
      while (!done) outcomes.push(await answer(port));
    })();
    const info = await ensureRouterProcess("crash-then-start", { stateDir, port });
    await waitUntil(() => !isAlive(strayHaproxy[0]!), 15_000, "the stray's HAProxy to hand over and exit");
    done = true;
    await clients;
    // Every request got an HTTP answer (503: no backend yet), none was refused across the hand-over.
    expect(outcomes.length).toBeGreaterThan(10);
    expect(outcomes.filter((o) => o === "refused" || o === "reset")).toEqual([]);
    expect(controlGroups("crash-then-start")).toEqual([info.pid]);
    expect(haproxies("crash-then-start").map((p) => p.pgid)).toEqual([info.pid]);
    await stopRouterProcess("crash-then-start", { purge: true, stateDir });
    expect(controlGroups("crash-then-start")).toEqual([]);
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
    expect(controlGroups("crash-then-stop")).toEqual([]);
    expect(haproxies("crash-then-stop")).toEqual([]);
  }, 90_000);
});
