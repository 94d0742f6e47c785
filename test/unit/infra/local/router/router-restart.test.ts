import type { ChildProcess } from "node:child_process";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { RouterClient } from "../../../../../infra/local/router/client";
import { freePort } from "../../../../../lib/runtime/free-port";
import { isAlive } from "../../../../../lib/runtime/process-group";
import {
  admin,
  count,
  hammer,
  killAllBackends,
  launchRouterCli,
  override,
  type Reply,
  removeDir,
  request,
  startBackend,
  startTestRouter,
  type TestRouter,
  tempDir,
  twoBackends,
  waitUntil,
} from "./helpers";

// The router's state survives the death of either of its processes: HAProxy
// (the data plane, restarted by the control process from the persisted table)
// and the control process (a new one takes over the HAProxy it left serving).

let routers: TestRouter[] = [];
const children: ChildProcess[] = [];
/** Events of every control process launched: the HAProxies they started must not outlive a failed test. */
const launchedEvents: Array<Array<Record<string, unknown>>> = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const r of routers) {
    await r.close();
    await removeDir(r.dir);
  }
  routers = [];
  // Wait for the kills to take effect before removing the folders they write into.
  await Promise.all(children.splice(0).map(killAndWait));
  // A control process killed by SIGKILL leaves its HAProxy serving (that is the design): stop it here.
  const haproxyPids: number[] = [];
  for (const events of launchedEvents.splice(0))
    for (const e of events)
      if (e.event === "haproxy-ready" && typeof e.pid === "number" && isAlive(e.pid)) {
        process.kill(e.pid, "SIGKILL");
        haproxyPids.push(e.pid);
      }
  await waitForGone(haproxyPids);
  for (const d of dirs.splice(0)) await removeDir(d);
  await killAllBackends();
});

async function killAndWait(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGKILL");
  await exited;
}

/** Orphaned HAProxies are reaped by init; give the kernel a bounded moment (a zombie still answers kill 0). */
async function waitForGone(pids: number[]): Promise<void> {
  const deadline = Date.now() + 3_000;
  while (pids.some(isAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}

const routesOf = async (r: { adminUrl: string }) => JSON.parse((await admin(r, "/admin/routes")).body);

describe("router: HAProxy killed", () => {
  it("the control process starts a new HAProxy with the same servers, split, stickiness and override token", async () => {
    const [b1, b2, g1] = await Promise.all([
      startBackend("blue"),
      startBackend("blue"),
      startBackend("green"),
    ]);
    const r = await startTestRouter();
    routers.push(r);
    await admin(r, "/admin/routes", {
      method: "PUT",
      body: { ...twoBackends([b1, b2], [g1], { blue: 70, green: 30 }), sticky: true },
    });
    const before = await routesOf(r);
    const killed = r.dataPlane.pid!;
    process.kill(killed, "SIGKILL");

    await waitUntil(
      async () => r.dataPlane.restarts === 1 && (await admin(r, "/admin/routes")).status === 200,
      10_000,
      "a new HAProxy",
    );
    expect(isAlive(killed)).toBe(false);
    expect(r.dataPlane.pid).not.toBe(killed);
    const after = await routesOf(r);
    expect(after).toEqual(before);
    expect(after.applied).toEqual({ version: 1, split: { blue: 70, green: 30 }, sticky: true });

    const c = count(await hammer(`${r.url}/`, 600, 8));
    expect(c.blue! + c.green!).toBe(600);
    // 30% of 600: mean 180, sigma ~11.2; 5 sigma bound.
    expect(Math.abs(c.green! - 180)).toBeLessThan(57);
    expect((await request(`${r.url}/`, { headers: override(r, "green") })).backend).toBe("green");
    // The request log reconnects: the statistics keep counting.
    await waitUntil(
      async () => {
        const s = JSON.parse((await admin(r, "/admin/stats")).body).backends;
        return (s.blue?.requests ?? 0) + (s.green?.requests ?? 0) === 600;
      },
      3000,
      "the new HAProxy's request log",
    );
  });
});

describe("router: control process killed", () => {
  const env = { SHIPSHAPE_ROUTER_TOKEN: "restart-token" };
  const launch = (args: string[]) => {
    const launched = launchRouterCli(args, env);
    children.push(launched.child);
    launchedEvents.push(launched.events);
    return launched;
  };

  it("HAProxy keeps serving; the next control process takes its listener over without refusing a connection", async () => {
    const blue = await startBackend("blue");
    const green = await startBackend("green");
    const dir = await tempDir();
    dirs.push(dir);
    const port = await freePort();
    const args = ["--port", String(port), "--admin-port", "0", "--state-file", join(dir, "routes.json")];
    const first = launch(args);
    const a = await first.listening;
    const client = new RouterClient({ adminUrl: `http://127.0.0.1:${a.adminPort}`, token: "restart-token" });
    await client.setRoutes(twoBackends([blue], [green], { blue: 80, green: 20 }));

    first.child.kill("SIGKILL");
    await new Promise((res) => first.child.once("exit", res));
    expect(isAlive(a.haproxyPid)).toBe(true);
    // Users are still served by the orphaned HAProxy, and keep being served across the hand-over.
    const replies: Reply[] = [];
    const failures: string[] = [];
    let stop = false;
    const traffic = (async () => {
      while (!stop) {
        try {
          replies.push(await request(`http://127.0.0.1:${port}/`));
        } catch (err) {
          failures.push(String(err));
        }
      }
    })();
    await waitUntil(() => replies.length > 20, 5000, "traffic through the orphaned HAProxy");

    const second = launch(args);
    const b = await second.listening;
    expect(second.events.some((e) => e.event === "haproxy-takeover" && e.from === a.haproxyPid)).toBe(true);
    const client2 = new RouterClient({ adminUrl: `http://127.0.0.1:${b.adminPort}`, token: "restart-token" });
    const view = await client2.getRoutes();
    expect(view.applied).toMatchObject({ version: 1, split: { blue: 80, green: 20 } });
    await waitUntil(() => !isAlive(a.haproxyPid), 10_000, "the old HAProxy to finish and exit");
    const handedOver = replies.length;
    await waitUntil(() => replies.length > handedOver + 20, 5000, "traffic through the new HAProxy");
    stop = true;
    await traffic;
    expect(failures).toEqual([]);
    expect(replies.every((x) => x.status === 200)).toBe(true);
    second.child.kill("SIGTERM");
    await new Promise((res) => second.child.once("exit", res));
  });
});
