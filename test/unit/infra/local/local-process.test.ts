// The /proc scan for keyed instances takes only those of its own run folder:
// two workers with different state folders share stack names (and so keys),
// and one must never reap the other's instances.
import { spawn } from "node:child_process";
import { afterEach, expect, it } from "vitest";
import { controller } from "../../../../infra/local/program/local-process";
import { isAlive, signalGroup } from "../../../../lib/runtime/process-group";

const started: number[] = [];

function instance(key: string, runDir: string): number {
  const child = spawn("sleep", ["60"], {
    detached: true,
    stdio: "ignore",
    env: { ...process.env, SHIPSHAPE_INSTANCE_KEY: key, SHIPSHAPE_INSTANCE_RUN_DIR: runDir },
  });
  child.unref();
  started.push(child.pid as number);
  return child.pid as number;
}

afterEach(() => {
  for (const pid of started.splice(0)) if (isAlive(pid)) signalGroup(pid, "SIGKILL");
});

it.runIf(process.platform === "linux")(
  "reapKeys kills the keyed instances of its run folder only",
  async () => {
    const ours = instance("shop-demo-v1/0", "/state/a/local/run/shop-demo-v1");
    const theirs = instance("shop-demo-v1/0", "/state/b/local/run/shop-demo-v1");
    const killed = await controller().reapKeys(
      (key) => key.startsWith("shop-demo-v1/"),
      "/state/a/local/run/shop-demo-v1",
    );
    expect(killed).toBe(1);
    expect(isAlive(ours)).toBe(false);
    expect(isAlive(theirs)).toBe(true);
  },
);
