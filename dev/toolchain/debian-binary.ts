import fs from "node:fs";
import { aptInstall } from "./apt";
import { run, ToolchainError, which } from "./run";
import type { ResolvedTool } from "./temporal";

/** A binary taken from a Debian package (Prometheus, HAProxy, nginx, Chromium, openssl). */
export interface DebianBinary {
  /** Name used in messages and on PATH. */
  tool: string;
  /** Environment variable that names an explicit binary. */
  envVar: string;
  /** Where the Debian package puts the binary (may be off PATH, e.g. /usr/sbin). */
  debianPath: string;
  packages: string[];
  versionArgs: string[];
  /** Extracts the version from `<bin> <versionArgs>` stdout + stderr. */
  versionPattern: RegExp;
  /** What to do by hand when nothing works. */
  howToFix: string;
}

function versionOf(spec: DebianBinary, bin: string): string | undefined {
  const r = run(bin, spec.versionArgs);
  if (r.status !== 0) return undefined;
  return spec.versionPattern.exec(`${r.stdout}\n${r.stderr}`)?.[1];
}

function find(spec: DebianBinary): { path: string; source: string } | undefined {
  const explicit = process.env[spec.envVar];
  if (explicit) return { path: explicit, source: spec.envVar };
  const onPath = which(spec.tool);
  if (onPath) return { path: onPath, source: "installed (PATH)" };
  if (fs.existsSync(spec.debianPath)) return { path: spec.debianPath, source: "installed" };
  return undefined;
}

/**
 * Resolution: the explicit env variable → the binary on PATH → the Debian
 * package's path → apt-get install (as root). Only the binary is used: the
 * project starts its own instances with generated configs on loopback; a
 * system service the package may start is never used, stopped or reconfigured.
 */
export async function resolveDebianBinary(
  spec: DebianBinary,
  log: (line: string) => void,
): Promise<ResolvedTool> {
  let found = find(spec);
  if (!found) {
    await aptInstall(spec.tool, spec.packages, log);
    const bin = find(spec);
    if (bin) found = { path: bin.path, source: "Debian package (installed now)" };
  }
  const version = found ? versionOf(spec, found.path) : undefined;
  if (!found || !version) {
    throw new ToolchainError(
      spec.tool,
      found ? `${found.path} ${spec.versionArgs.join(" ")} failed` : `no ${spec.tool} binary found`,
      spec.howToFix,
    );
  }
  return { path: found.path, version, source: found.source };
}
