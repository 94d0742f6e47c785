import fs from "node:fs";
import { z } from "zod";
import { toolchainManifestPath } from "./paths";

const Tool = z.object({ path: z.string(), version: z.string(), source: z.string() });

/**
 * What `npm run setup` resolved (dev/toolchain writes it); read at run time by
 * the worker's Pulumi workspace, the dev stack and the tests.
 */
export const ToolchainManifest = z.object({
  temporal: Tool,
  /** The time-skipping test server: only the test suites need it (setup's `test` profile). */
  temporalTestServer: Tool.optional(),
  pulumi: Tool.extend({ pluginDir: z.string() }),
  postgres: Tool.extend({ bindir: z.string() }),
  /**
   * Optional so a manifest written by an older checkout (the cache is shared by
   * every clone) still loads; code that needs it calls requirePrometheus().
   */
  prometheus: Tool.optional(),
  /** AWS API emulator for the AWS target's integration tests (optional for the same reason). */
  moto: Tool.optional(),
  /** The local target's data plane (infra/local/router); optional for the same reason. */
  haproxy: Tool.optional(),
  /** Reference proxy of the router benchmark. */
  nginx: Tool.optional(),
  /** The security tests' engines (Debian): headless Chromium, openssl. */
  chromium: Tool.optional(),
  openssl: Tool.optional(),
});
export type ToolchainManifest = z.infer<typeof ToolchainManifest>;

/**
 * Loads the manifest and checks every recorded binary still exists. Fails loudly
 * (never falls back to a fake) so a test that needs a real engine says why it
 * cannot run.
 */
export function readManifest(): ToolchainManifest {
  const file = toolchainManifestPath();
  if (!fs.existsSync(file)) {
    throw new Error(
      `No toolchain manifest at ${file}. Run \`npm run setup\` first (npm test runs it as pretest).`,
    );
  }
  const manifest = ToolchainManifest.parse(JSON.parse(fs.readFileSync(file, "utf8")));
  for (const [name, tool] of Object.entries(manifest)) {
    if (tool && !fs.existsSync(tool.path)) {
      throw new Error(
        `Toolchain entry '${name}' points at ${tool.path}, which no longer exists. Run \`npm run setup\`.`,
      );
    }
  }
  return manifest;
}

/** Where Debian installs the security-test engines. */
const DEBIAN_BINARIES = {
  chromium: "/usr/bin/chromium",
  haproxy: "/usr/sbin/haproxy",
  openssl: "/usr/bin/openssl",
} as const;

/**
 * A security-test engine from the manifest (or, when a manifest written by an
 * older checkout lacks it, from where Debian installs it), or a loud error
 * saying how to get it.
 */
export function requireTool(
  name: keyof typeof DEBIAN_BINARIES,
  manifest: ToolchainManifest = readManifest(),
): z.infer<typeof Tool> {
  const tool = manifest[name];
  if (!tool && fs.existsSync(DEBIAN_BINARIES[name])) {
    return { path: DEBIAN_BINARIES[name], version: "unknown", source: "Debian package" };
  }
  if (!tool) {
    throw new Error(
      `The toolchain manifest at ${toolchainManifestPath()} has no ${name} entry. Run \`npm run setup\`.`,
    );
  }
  return tool;
}

/** The time-skipping test server from the manifest, or a loud error saying how to get it. */
export function requireTemporalTestServer(
  manifest: ToolchainManifest = readManifest(),
): z.infer<typeof Tool> {
  if (!manifest.temporalTestServer) {
    throw new Error(
      `The toolchain manifest at ${toolchainManifestPath()} has no Temporal test server entry. Run \`npm run setup\` (or \`npm test\`, whose pretest installs it).`,
    );
  }
  return manifest.temporalTestServer;
}

/** The Prometheus binary from the manifest, or a loud error saying how to get it. */
export function requirePrometheus(manifest: ToolchainManifest = readManifest()): z.infer<typeof Tool> {
  if (!manifest.prometheus) {
    throw new Error(
      `The toolchain manifest at ${toolchainManifestPath()} has no Prometheus entry. Run \`npm run setup\`.`,
    );
  }
  return manifest.prometheus;
}

/** Where Debian's haproxy package installs the binary (what `npm run setup` installs). */
const DEBIAN_HAPROXY = "/usr/sbin/haproxy";

/**
 * The HAProxy binary: SHIPSHAPE_HAPROXY_BIN, else the manifest's entry, else
 * Debian's binary where setup installs it (the manifest is shared by every
 * clone on the machine, and one written by an older checkout has no entry),
 * else a loud error saying how to get it: the local router cannot run without it.
 */
export function requireHaproxy(): z.infer<typeof Tool> {
  const explicit = process.env.SHIPSHAPE_HAPROXY_BIN;
  if (explicit) return { path: explicit, version: "unknown", source: "SHIPSHAPE_HAPROXY_BIN" };
  const manifest = readManifest();
  if (manifest.haproxy) return manifest.haproxy;
  if (fs.existsSync(DEBIAN_HAPROXY)) return { path: DEBIAN_HAPROXY, version: "unknown", source: "installed" };
  throw new Error(
    `No HAProxy (the local router's data plane): the toolchain manifest at ${toolchainManifestPath()} has no entry and ${DEBIAN_HAPROXY} does not exist. Run \`npm run setup\`.`,
  );
}
