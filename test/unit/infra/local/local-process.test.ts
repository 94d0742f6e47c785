/**
 * Issue 16, item 4: reaping never signals a process group unless a member of
 * it is verified to carry the instance key. A leftover pidfile can point at a
 * recycled pid (after a crash or a reboot) that now belongs to a stranger.
 */
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { controller } from "../../../../infra/local/program/local-process";

const linux = fs.existsSync("/proc/self/environ");
const started: ChildProcess[] = [];

function sleeper(env: Record<string, string> = {}, command = "exec sleep 60"): ChildProcess {
  // Own process group (detached = setsid), like a stranger's service or one of ours.
  const child = spawn("sh", ["-c", command], {
    detached: true,
    stdio: "ignore",
    env: { ...process.env, ...env },
  });
  started.push(child);
  return child;
}

const running = (c: ChildProcess) => c.exitCode === null && c.signalCode === null;
const exited = (c: ChildProcess) =>
  new Promise<void>((resolve) => (running(c) ? c.once("exit", () => resolve()) : resolve()));

function pidFileFor(pid: number, key: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ss-reap-"));
  const file = path.join(dir, "instance.pid");
  fs.writeFileSync(
    file,
    JSON.stringify({ key, pid, port: 1, specHash: "x", startedAt: new Date().toISOString() }),
  );
  return file;
}

afterEach(() => {
  for (const c of started.splice(0)) {
    try {
      if (c.pid) process.kill(-c.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
});

describe.runIf(linux)("reap only signals groups that carry the instance key", () => {
  it("leaves a stranger alone when a leftover pidfile points at its group", async () => {
    const key = `test/stranger-${process.pid}-${Date.now()}`;
    const stranger = sleeper();
    await new Promise((r) => setTimeout(r, 100));
    const file = pidFileFor(stranger.pid as number, key);
    const killed = await controller().reap(file, key);
    await new Promise((r) => setTimeout(r, 200));
    expect(killed).toBe(false);
    expect(running(stranger)).toBe(true);
    expect(fs.existsSync(file)).toBe(false);
  });

  it("kills our own instance named by the pidfile", async () => {
    const key = `test/ours-${process.pid}-${Date.now()}`;
    const ours = sleeper({ SHIPSHAPE_INSTANCE_KEY: key });
    await new Promise((r) => setTimeout(r, 100));
    const killed = await controller().reap(pidFileFor(ours.pid as number, key), key);
    expect(killed).toBe(true);
    await exited(ours);
    expect(running(ours)).toBe(false);
  });

  it("kills what is left of our group after its leader exited (a member carries the key)", async () => {
    const key = `test/orphans-${process.pid}-${Date.now()}`;
    const leader = sleeper({ SHIPSHAPE_INSTANCE_KEY: key }, "sleep 60 & exit 0");
    await exited(leader);
    const pgid = leader.pid as number;
    const groupAlive = () => {
      try {
        process.kill(-pgid, 0);
        return true;
      } catch {
        return false;
      }
    };
    expect(groupAlive()).toBe(true);
    const c = controller();
    expect(await c.reap(pidFileFor(pgid, key), key)).toBe(true);
    expect(groupAlive()).toBe(false);
  });

  it("killGroup refuses a group none of whose members carries the key", async () => {
    const stranger = sleeper();
    await new Promise((r) => setTimeout(r, 100));
    await controller().killGroup(stranger.pid as number, undefined, `test/none-${Date.now()}`);
    await new Promise((r) => setTimeout(r, 200));
    expect(running(stranger)).toBe(true);
  });
});

describe.runIf(linux)("instance keys are scoped to their state folder", () => {
  it("reaping a stack's keys in one state folder leaves the same key of another state folder alone", async () => {
    const key = `test/shared-${process.pid}-${Date.now()}/0`;
    const home = (name: string) => path.join(os.tmpdir(), `ss-home-${process.pid}`, name, "run");
    const mine = sleeper({ SHIPSHAPE_INSTANCE_KEY: key, SHIPSHAPE_INSTANCE_HOME: home("a") });
    const theirs = sleeper({ SHIPSHAPE_INSTANCE_KEY: key, SHIPSHAPE_INSTANCE_HOME: home("b") });
    await new Promise((r) => setTimeout(r, 100));
    const killed = await controller().reapKeys((k) => k === key, home("a"));
    expect(killed).toBe(1);
    await exited(mine);
    await new Promise((r) => setTimeout(r, 200));
    expect(running(mine)).toBe(false);
    expect(running(theirs)).toBe(true);
  });
});
