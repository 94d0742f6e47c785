// Bounded input: a multi-megabyte release config is refused before it is
// parsed (it used to keep the event loop busy for minutes on a quadratic
// duplicate-key check), and so is a small one with too many keys. Run as a
// user would (the bin, in a child process) so a hang is a failed test, not a
// stuck runner.
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../../lib/runtime/paths";
import { releaseYaml, tempRepo } from "./helpers";

const dir = tempRepo("size");
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** `shipshape validate` in a child; killed (and reported as such) after `limitMs`. */
function validate(
  file: string,
  limitMs = 60_000,
): Promise<{ code: number | null; out: string; killed: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [path.join(PROJECT_ROOT, "bin", "shipshape.cjs"), "validate", "--json", file],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      child.kill("SIGKILL");
    }, limitMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, out, killed });
    });
  });
}

describe("config size and key-count limits", () => {
  it("refuses a 4 MB YAML config with a clear error before parsing it", async () => {
    const file = path.join(dir, "huge.yaml");
    const keys = Array.from({ length: 330_000 }, (_, i) => `  k${i}: v`).join("\n");
    fs.writeFileSync(file, releaseYaml(`extra:\n${keys}\n`));
    expect(fs.statSync(file).size).toBeGreaterThan(4_000_000);
    const r = await validate(file);
    expect(r.killed, "validate was still busy after 60 s").toBe(false);
    expect(r.code).toBe(2);
    const report = JSON.parse(r.out) as { problems: Array<{ code: string; message: string }> };
    expect(report.problems).toHaveLength(1);
    expect(report.problems[0]?.code).toBe("input-too-large");
    expect(report.problems[0]?.message).toMatch(/is 4\.\d MiB; a release config may be at most 256 KiB/);
  }, 90_000);

  it("refuses a small config with too many keys", async () => {
    const file = path.join(dir, "many-keys.yaml");
    const keys = Array.from({ length: 6000 }, (_, i) => `  k${i}: 1`).join("\n");
    fs.writeFileSync(file, releaseYaml(`extra:\n${keys}\n`));
    expect(fs.statSync(file).size).toBeLessThan(256 * 1024);
    const r = await validate(file);
    expect(r.killed).toBe(false);
    expect(r.code).toBe(2);
    const report = JSON.parse(r.out) as { problems: Array<{ code: string; message: string }> };
    expect(report.problems.map((p) => p.code)).toEqual(["input-too-large"]);
    expect(report.problems[0]?.message).toContain("more than 5000 keys");
  }, 90_000);

  it("still reports duplicate keys, with where the first one is", async () => {
    const file = path.join(dir, "dup.yaml");
    fs.writeFileSync(file, releaseYaml("", "  instances: 2\n"));
    const r = await validate(file);
    const report = JSON.parse(r.out) as { problems: Array<{ code: string; message: string; path: string }> };
    expect(report.problems).toContainEqual(
      expect.objectContaining({
        code: "duplicate-key",
        path: "run.instances",
        message: "key `instances` appears twice in run (first at line 4)",
      }),
    );
  });
});
