import { type DebianBinary, resolveDebianBinary } from "./debian-binary";
import type { ResolvedTool } from "./temporal";

/**
 * The security tests' engines, from Debian: headless Chromium (the Web UI read
 * through the codec server, the HTML report) and openssl (the TLS test's own
 * self-signed certificate). HAProxy, which the TLS test also uses, is the
 * local data plane (haproxy.ts).
 */
export const SECURITY_TEST_TOOLS = [
  {
    name: "chromium",
    spec: {
      tool: "chromium",
      envVar: "SHIPSHAPE_CHROMIUM_BIN",
      debianPath: "/usr/bin/chromium",
      packages: ["chromium"],
      versionArgs: ["--version"],
      versionPattern: /Chromium\s+(\S+)/,
      howToFix: "apt-get install chromium, or set SHIPSHAPE_CHROMIUM_BIN",
    },
  },
  {
    name: "openssl",
    spec: {
      tool: "openssl",
      envVar: "SHIPSHAPE_OPENSSL_BIN",
      debianPath: "/usr/bin/openssl",
      packages: ["openssl"],
      versionArgs: ["version"],
      versionPattern: /OpenSSL\s+(\S+)/,
      howToFix: "apt-get install openssl, or set SHIPSHAPE_OPENSSL_BIN",
    },
  },
] as const satisfies ReadonlyArray<{ name: string; spec: DebianBinary }>;

export function resolveDebianTool(
  tool: (typeof SECURITY_TEST_TOOLS)[number],
  log: (line: string) => void,
): Promise<ResolvedTool> {
  return resolveDebianBinary(tool.spec, log);
}
