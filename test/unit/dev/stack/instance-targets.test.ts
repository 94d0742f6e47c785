import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { localInstanceTargets, watchInstanceTargets } from "../../../../dev/stack/instance-targets";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function stateDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "instance-targets-"));
  dirs.push(d);
  return d;
}

function pidFile(dir: string, stack: string, index: number, content: unknown): void {
  const run = path.join(dir, "local", "run", stack);
  fs.mkdirSync(run, { recursive: true });
  fs.writeFileSync(path.join(run, `instance-${index}.json`), JSON.stringify(content));
}

/** A pid that is not running: beyond the kernel's pid range. */
const DEAD_PID = 2 ** 22 + 12345;

describe("local instance discovery for Prometheus", () => {
  it("lists every live instance of every stack, with its stack and key, and skips dead or unreadable ones", () => {
    const dir = stateDir();
    pidFile(dir, "shop-demo-v2", 0, { key: "shop-demo-v2/0", pid: process.pid, port: 41001 });
    pidFile(dir, "shop-demo-v3", 0, { key: "shop-demo-v3/0", pid: process.pid, port: 41002 });
    pidFile(dir, "shop-demo-v3", 1, { key: "shop-demo-v3/1", pid: DEAD_PID, port: 41003 });
    pidFile(dir, "shop-demo-v3", 2, "half-written");
    expect(localInstanceTargets(dir)).toEqual([
      {
        targets: ["127.0.0.1:41001"],
        labels: { shipshape_stack: "shop-demo-v2", shipshape_instance: "shop-demo-v2/0" },
      },
      {
        targets: ["127.0.0.1:41002"],
        labels: { shipshape_stack: "shop-demo-v3", shipshape_instance: "shop-demo-v3/0" },
      },
    ]);
  });

  it("keeps the file_sd file in step: a new instance appears, a destroyed one disappears", () => {
    const dir = stateDir();
    const file = path.join(dir, "prometheus", "targets.json");
    const watch = watchInstanceTargets({ stateDir: dir, file, intervalMs: 60_000 });
    try {
      expect(JSON.parse(fs.readFileSync(file, "utf8"))).toEqual([]);
      pidFile(dir, "shop-demo-v4", 0, { key: "shop-demo-v4/0", pid: process.pid, port: 41010 });
      watch.refresh();
      expect(JSON.parse(fs.readFileSync(file, "utf8"))[0].targets).toEqual(["127.0.0.1:41010"]);
      fs.rmSync(path.join(dir, "local", "run", "shop-demo-v4"), { recursive: true });
      watch.refresh();
      expect(JSON.parse(fs.readFileSync(file, "utf8"))).toEqual([]);
    } finally {
      watch.stop();
    }
  });
});
