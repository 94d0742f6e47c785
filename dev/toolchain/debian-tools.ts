import fs from "node:fs";
import { aptInstall } from "./apt";
import { run, ToolchainError, which } from "./run";
import type { ResolvedTool } from "./temporal";

interface DebianTool {
  /** Manifest name and the error's subject. */
  name: "chromium" | "haproxy" | "openssl";
  binary: string;
  /** Debian package that ships it. */
  aptPackage: string;
  versionArgs: string[];
  /** Picks the version out of `<binary> <versionArgs>` output. */
  version: RegExp;
  envOverride: string;
}

/**
 * The security tests' engines, from Debian: headless Chromium (the Web UI read
 * through the codec server), HAProxy (a TLS terminator in front of the dev
 * server) and openssl (the test's own self-signed certificate).
 */
export const SECURITY_TEST_TOOLS: readonly DebianTool[] = [
  {
    name: "chromium",
    binary: "chromium",
    aptPackage: "chromium",
    versionArgs: ["--version"],
    version: /Chromium\s+(\S+)/,
    envOverride: "SHIPSHAPE_CHROMIUM_BIN",
  },
  {
    name: "haproxy",
    binary: "haproxy",
    aptPackage: "haproxy",
    versionArgs: ["-v"],
    version: /version\s+(\S+)/,
    envOverride: "SHIPSHAPE_HAPROXY_BIN",
  },
  {
    name: "openssl",
    binary: "openssl",
    aptPackage: "openssl",
    versionArgs: ["version"],
    version: /OpenSSL\s+(\S+)/,
    envOverride: "SHIPSHAPE_OPENSSL_BIN",
  },
];

function find(tool: DebianTool): { path: string; source: string } | undefined {
  const explicit = process.env[tool.envOverride];
  if (explicit) return { path: explicit, source: tool.envOverride };
  const onPath = which(tool.binary);
  if (onPath) return { path: onPath, source: "installed (PATH)" };
  for (const dir of ["/usr/bin", "/usr/sbin"]) {
    if (fs.existsSync(`${dir}/${tool.binary}`)) return { path: `${dir}/${tool.binary}`, source: "installed" };
  }
  return undefined;
}

/** Resolution: $SHIPSHAPE_<NAME>_BIN → PATH → /usr/bin, /usr/sbin → apt-get install (Debian). */
export async function resolveDebianTool(
  tool: DebianTool,
  log: (line: string) => void,
): Promise<ResolvedTool> {
  let found = find(tool);
  if (!found) {
    await aptInstall(tool.name, [tool.aptPackage], log);
    const bin = find(tool);
    if (bin) found = { path: bin.path, source: "Debian package (installed now)" };
  }
  const r = found ? run(found.path, tool.versionArgs) : undefined;
  const version = r && r.status === 0 ? tool.version.exec(`${r.stdout}\n${r.stderr}`)?.[1] : undefined;
  if (!found || !version) {
    throw new ToolchainError(
      tool.name,
      found ? `${found.path} ${tool.versionArgs.join(" ")} failed` : `no ${tool.binary} binary found`,
      `apt-get install ${tool.aptPackage}, or set ${tool.envOverride}`,
    );
  }
  return { path: found.path, version, source: found.source };
}
