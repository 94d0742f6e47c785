/**
 * Idempotent toolchain check/installation (`npm run setup`).
 *
 * Resolves the engines a command needs — a profile: `demo` and `dev` need the
 * Temporal CLI, PostgreSQL, Pulumi, Prometheus and OpenSSH (local signing);
 * `chaos` the first three; all three also HAProxy (the local data plane);
 * `test` (and `all`, the default) also the time-skipping test server, nginx
 * (the router benchmark's reference), moto and the security tests' Debian
 * engines (Chromium, openssl) — so the first `npm run demo` installs nothing that only
 * the test suites use. Prints what it found or installed, with progress and
 * elapsed time for the long steps, and records resolved paths in the
 * user-level toolchain manifest (lib/runtime/paths.ts says where), keeping the
 * entries other profiles resolved earlier. Returns non-zero after naming the
 * missing piece and how to install it by hand; never falls back to a fake.
 */
import fs from "node:fs";
import { toolchainManifestPath } from "../../lib/runtime/paths";
import { ToolchainManifest } from "../../lib/runtime/toolchain-manifest";
import { resolveDebianTool, SECURITY_TEST_TOOLS } from "./debian-tools";
import { resolveHaproxy, resolveNginx } from "./haproxy";
import { writeManifest } from "./manifest";
import { resolveMoto } from "./moto";
import { resolveOpenSsh } from "./openssh";
import { resolvePostgres } from "./postgres";
import { formatElapsed } from "./progress";
import { resolvePrometheus } from "./prometheus";
import { resolvePulumi } from "./pulumi";
import { ToolchainError } from "./run";
import { resolveTemporal } from "./temporal";

export const ENGINES = [
  "temporal",
  "temporal-test-server",
  "postgres",
  "pulumi",
  "prometheus",
  "openssh",
  "haproxy",
  "nginx",
  "moto",
  "chromium",
  "openssl",
] as const;
export type Engine = (typeof ENGINES)[number];

export const SETUP_PROFILES: Record<string, readonly Engine[]> = {
  // openssh: the demo and the dev stack sign their approvals with local keys.
  // haproxy: the local target's data plane; openssh: the demo and the dev stack sign with local keys.
  demo: ["temporal", "postgres", "pulumi", "prometheus", "haproxy", "openssh"],
  dev: ["temporal", "postgres", "pulumi", "prometheus", "haproxy", "openssh"],
  chaos: ["temporal", "postgres", "pulumi", "haproxy"],
  test: ENGINES,
  all: ENGINES,
};

/** Entries by engine name; entries this checkout does not know (another branch's engines) are kept as they are. */
type Manifest = Partial<ToolchainManifest> & Record<string, unknown>;
type Log = (line: string) => void;

/** What an earlier setup recorded (any profile), if it still parses: this run adds to it. */
function previousManifest(): Manifest {
  let previous: unknown;
  try {
    previous = JSON.parse(fs.readFileSync(toolchainManifestPath(), "utf8"));
  } catch {
    return {};
  }
  if (typeof previous !== "object" || previous === null) return {};
  // an entry whose binary is gone (a removed virtualenv) is dropped, not carried over
  const live = ([, tool]: [string, unknown]) => {
    const p = typeof tool === "object" && tool !== null ? (tool as { path?: unknown }).path : undefined;
    return typeof p === "string" && fs.existsSync(p);
  };
  return Object.fromEntries(Object.entries(previous).filter(live));
}

type Tool = { path: string; version: string; source: string };

/** One engine a profile may need: how to resolve it, where it goes in the manifest, what to call it. */
const RESOLVERS: Array<{
  engine: Exclude<Engine, "temporal" | "temporal-test-server">;
  /** Manifest entry; none for engines used from PATH (OpenSSH's tools). */
  key?: "postgres" | "pulumi" | "prometheus" | "moto" | "chromium" | "haproxy" | "nginx" | "openssl";
  title: string;
  resolve: (log: Log) => Promise<Tool & { bindir?: string }>;
}> = [
  { engine: "postgres", key: "postgres", title: "PostgreSQL", resolve: resolvePostgres },
  { engine: "pulumi", key: "pulumi", title: "Pulumi CLI", resolve: resolvePulumi },
  { engine: "prometheus", key: "prometheus", title: "Prometheus", resolve: resolvePrometheus },
  {
    engine: "openssh",
    title: "OpenSSH (ssh-keygen, ssh-agent, ssh-add)",
    resolve: async (log) => ({ ...(await resolveOpenSsh(log)), source: "PATH" }),
  },
  { engine: "haproxy", key: "haproxy", title: "HAProxy (local data plane)", resolve: resolveHaproxy },
  { engine: "nginx", key: "nginx", title: "nginx (router benchmark reference)", resolve: resolveNginx },
  { engine: "moto", key: "moto", title: "moto (AWS API emulator)", resolve: resolveMoto },
  ...SECURITY_TEST_TOOLS.map((tool) => ({
    engine: tool.name,
    key: tool.name,
    title: tool.name,
    resolve: (log: Log) => resolveDebianTool(tool, log),
  })),
];

const found = (title: string, t: Tool & { bindir?: string }) =>
  console.log(`  ✓ ${title} ${t.version} — ${t.bindir ?? t.path} [${t.source}]`);

/** Resolves `fn`, saying how long it took when that was long enough to notice. */
async function timed<T>(what: string, log: Log, fn: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  const r = await fn();
  const took = Date.now() - t0;
  if (took > 2000) log(`${what}: ${formatElapsed(took)}`);
  return r;
}

async function resolveEngines(engines: readonly Engine[], log: Log): Promise<Manifest> {
  const out: Manifest = {};
  if (engines.includes("temporal")) {
    const testServer = engines.includes("temporal-test-server");
    const t = await timed("Temporal", log, () => resolveTemporal(log, { testServer }));
    out.temporal = t.cli;
    found("Temporal CLI", t.cli);
    if (t.testServer) {
      out.temporalTestServer = t.testServer;
      found("Temporal test server", t.testServer);
    }
  }
  for (const r of RESOLVERS.filter((x) => engines.includes(x.engine))) {
    const tool = await timed(r.title, log, () => r.resolve(log));
    if (r.key) (out as Record<string, unknown>)[r.key] = tool;
    found(r.title, tool);
  }
  return out;
}

/** Resolves the profile's engines and records them; the exit code (0 ok, 1 missing engine, 2 unknown profile). */
export async function runSetup(profile = "all"): Promise<number> {
  const engines = SETUP_PROFILES[profile];
  if (!engines) {
    console.error(`setup: unknown profile "${profile}"; known: ${Object.keys(SETUP_PROFILES).join(", ")}`);
    return 2;
  }
  const started = Date.now();
  try {
    console.log(`shipshape setup (${profile}): checking ${engines.join(", ")}`);
    const resolved = await resolveEngines(engines, (line) => console.log(`  · ${line}`));
    const manifest = { ...previousManifest(), ...resolved };
    ToolchainManifest.parse(manifest); // what this checkout reads must be complete
    writeManifest(manifest as ToolchainManifest);
    console.log(`  manifest: ${toolchainManifestPath()}`);
    console.log(`setup done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return 0;
  } catch (err) {
    if (err instanceof ToolchainError) {
      console.error(`\n✗ setup failed after ${formatElapsed(Date.now() - started)} — ${err.message}`);
      return 1;
    }
    throw err;
  }
}
