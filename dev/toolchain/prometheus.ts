import fs from "node:fs";
import { aptInstall } from "./apt";
import { run, ToolchainError, which } from "./run";
import type { ResolvedTool } from "./temporal";

const DEBIAN_PATH = "/usr/bin/prometheus";

/** "prometheus, version 2.42.0+ds (branch: ...)" → "2.42.0+ds". Prometheus prints it on stdout (2.x) or stderr (older). */
function versionOf(bin: string): string | undefined {
  const r = run(bin, ["--version"]);
  if (r.status !== 0) return undefined;
  return /version\s+(\S+)/.exec(`${r.stdout}\n${r.stderr}`)?.[1];
}

function find(): { path: string; source: string } | undefined {
  const explicit = process.env.SHIPSHAPE_PROMETHEUS_BIN;
  if (explicit) return { path: explicit, source: "SHIPSHAPE_PROMETHEUS_BIN" };
  const onPath = which("prometheus");
  if (onPath) return { path: onPath, source: "installed (PATH)" };
  if (fs.existsSync(DEBIAN_PATH)) return { path: DEBIAN_PATH, source: "installed" };
  return undefined;
}

/**
 * Resolution: SHIPSHAPE_PROMETHEUS_BIN → `prometheus` on PATH → /usr/bin/prometheus
 * → apt-get install prometheus (Debian). Only the binary is used: tests and the
 * dev stack start their own instance on a free loopback port with a generated
 * config (dev/services/prometheus-server.ts); the system service the Debian
 * package may start is never used, stopped or reconfigured.
 */
export async function resolvePrometheus(log: (line: string) => void): Promise<ResolvedTool> {
  let found = find();
  if (!found) {
    await aptInstall("prometheus", ["prometheus"], log);
    const bin = find();
    if (bin) found = { path: bin.path, source: "Debian package (installed now)" };
  }
  const version = found ? versionOf(found.path) : undefined;
  if (!found || !version) {
    throw new ToolchainError(
      "prometheus",
      found ? `${found.path} --version failed` : "no prometheus binary found",
      "apt-get install prometheus, or set SHIPSHAPE_PROMETHEUS_BIN to a Prometheus 2.x binary",
    );
  }
  return { path: found.path, version, source: found.source };
}
