import { resolveDebianBinary } from "./debian-binary";
import { ToolchainError } from "./run";
import type { ResolvedTool } from "./temporal";

/** Oldest HAProxy whose Runtime API has dynamic servers (`add server` / `del server`). */
export const HAPROXY_MIN_VERSION = "2.4";

/**
 * HAProxy, the local target's data plane (infra/local/router drives it through
 * its Runtime API). Resolution: SHIPSHAPE_HAPROXY_BIN → `haproxy` on PATH →
 * /usr/sbin/haproxy → apt-get install haproxy (Debian bookworm: 2.6).
 */
export async function resolveHaproxy(log: (line: string) => void): Promise<ResolvedTool> {
  const tool = await resolveDebianBinary(
    {
      tool: "haproxy",
      envVar: "SHIPSHAPE_HAPROXY_BIN",
      debianPath: "/usr/sbin/haproxy",
      packages: ["haproxy"],
      versionArgs: ["-v"],
      // "HAProxy version 2.6.12-1+deb12u4 2025/…"
      versionPattern: /HAProxy version (\S+)/,
      howToFix: `apt-get install haproxy (>= ${HAPROXY_MIN_VERSION}), or set SHIPSHAPE_HAPROXY_BIN`,
    },
    log,
  );
  const [major = 0, minor = 0] = tool.version.split(/[.-]/).map(Number);
  const [wantMajor = 0, wantMinor = 0] = HAPROXY_MIN_VERSION.split(".").map(Number);
  if (major < wantMajor || (major === wantMajor && minor < wantMinor)) {
    throw new ToolchainError(
      "haproxy",
      `${tool.path} is ${tool.version}; dynamic servers need >= ${HAPROXY_MIN_VERSION}`,
      "install a newer haproxy, or set SHIPSHAPE_HAPROXY_BIN",
    );
  }
  return tool;
}

/**
 * nginx (Debian nginx-light): not used by Shipshape itself, only as the
 * reference proxy of `npm run bench -- router`, so the comparison runs on a
 * fresh machine too. Resolution: SHIPSHAPE_NGINX_BIN → PATH → /usr/sbin/nginx
 * → apt-get install nginx-light.
 */
export function resolveNginx(log: (line: string) => void): Promise<ResolvedTool> {
  return resolveDebianBinary(
    {
      tool: "nginx",
      envVar: "SHIPSHAPE_NGINX_BIN",
      debianPath: "/usr/sbin/nginx",
      packages: ["nginx-light"],
      versionArgs: ["-v"],
      // "nginx version: nginx/1.22.1" (on stderr)
      versionPattern: /nginx\/(\S+)/,
      howToFix: "apt-get install nginx-light, or set SHIPSHAPE_NGINX_BIN",
    },
    log,
  );
}
