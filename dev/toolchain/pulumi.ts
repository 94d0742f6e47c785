import fs from "node:fs";
import path from "node:path";
import { PROJECT_ROOT, toolchainCacheDir } from "../../lib/runtime/paths";
import { runWithProgress } from "./progress";
import { run, ToolchainError, which } from "./run";
import type { ResolvedTool } from "./temporal";

/** The version built from Go modules (tools/pulumi/go.mod pins the same one). */
export const PULUMI_VERSION = "3.274.1";
/** Oldest CLI the Automation API code here is known to work with. */
export const PULUMI_MIN_VERSION = "3.181.0";

const TOOLS_MODULE = path.join(PROJECT_ROOT, "tools", "pulumi");

function compareVersions(a: string, b: string): number {
  const pa = a.replace(/^v/, "").split(/[.-]/).map(Number);
  const pb = b.replace(/^v/, "").split(/[.-]/).map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function pulumiVersion(bin: string): string | undefined {
  const r = run(bin, ["version"], { env: { ...process.env, PULUMI_SKIP_UPDATE_CHECK: "true" } });
  const v = r.stdout.trim();
  return r.status === 0 && /^v?\d+\.\d+\.\d+/.test(v) ? v.replace(/^v/, "") : undefined;
}

function cachedBinDir(): string {
  return path.join(toolchainCacheDir(), "pulumi", `v${PULUMI_VERSION}`, "bin");
}

/**
 * `pulumi-resource-pulumi-nodejs` runs dynamic providers (the local target's
 * process resources). It ships inside the @pulumi/pulumi npm package; the CLI
 * finds plugins on PATH, so we keep a copy beside the binary and put that
 * folder on PATH whenever Shipshape runs Pulumi.
 */
function installNodejsDynamicProviderShim(binDir: string): void {
  const src = path.join(PROJECT_ROOT, "node_modules", "@pulumi", "pulumi", "pulumi-resource-pulumi-nodejs");
  if (!fs.existsSync(src)) {
    throw new ToolchainError("pulumi", `${src} is missing`, "run `npm install` first");
  }
  const dest = path.join(binDir, "pulumi-resource-pulumi-nodejs");
  if (!fs.existsSync(dest) || fs.readFileSync(dest, "utf8") !== fs.readFileSync(src, "utf8")) {
    fs.copyFileSync(src, dest);
    fs.chmodSync(dest, 0o755);
  }
}

/**
 * What `go build -v` is doing, from one line of its output: fetching a module
 * ("go: downloading github.com/… v1.2.3") or compiling a package (-v prints
 * each import path as it is built). Counts what it saw so far.
 */
export function goBuildStepper(): (line: string) => string | undefined {
  let downloaded = 0;
  let compiled = 0;
  return (line) => {
    const t = line.trim();
    const dl = /^go: downloading (\S+) (\S+)/.exec(t);
    if (dl) return `downloading Go modules: ${++downloaded} fetched (${dl[1]} ${dl[2]})`;
    if (/^[A-Za-z0-9][\w.\-~/]*$/.test(t)) return `compiling: ${++compiled} packages built (${t})`;
    return undefined;
  };
}

/**
 * Builds the CLI from Go modules. `go install …@version` is refused for Pulumi
 * (its go.mod has replace directives), so tools/pulumi is a tiny module of our
 * own that requires matching pkg/v3 and sdk/v3 versions. The version ldflag is
 * required: without it the CLI reports "v3.0.0-dev"-like strings that the
 * Automation API cannot parse. The binary is written beside its final name and
 * renamed, so a build killed halfway never leaves a broken cached binary.
 * `go build -v` names every package it compiles: the progress line shows it.
 */
async function buildFromGoModules(log: (line: string) => void): Promise<string> {
  const go = which("go");
  if (!go) {
    throw new ToolchainError(
      "pulumi",
      "no Pulumi CLI on PATH, none cached, and no Go toolchain to build it",
      `install Go >= 1.26 (https://go.dev/dl) or the Pulumi CLI >= ${PULUMI_MIN_VERSION}, then rerun npm run setup`,
    );
  }
  const binDir = cachedBinDir();
  fs.mkdirSync(binDir, { recursive: true });
  const final = path.join(binDir, "pulumi");
  const partial = `${final}.partial-${process.pid}`;
  log(`the Pulumi CLI v${PULUMI_VERSION} is built from Go modules once, into ${binDir} (~8 min on 2 cores)`);
  const r = await runWithProgress(
    go,
    [
      "build",
      "-v",
      "-trimpath",
      "-o",
      partial,
      "-ldflags",
      `-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v${PULUMI_VERSION}`,
      "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi",
    ],
    { cwd: TOOLS_MODULE, env: { ...process.env, GOFLAGS: "-mod=mod" } },
    { label: `building Pulumi CLI v${PULUMI_VERSION}`, step: goBuildStepper(), log },
  );
  if (r.status !== 0 || !fs.existsSync(partial)) {
    fs.rmSync(partial, { force: true });
    throw new ToolchainError(
      "pulumi",
      `go build in ${TOOLS_MODULE} failed (exit ${r.status}):\n${r.stderr.trim().split("\n").slice(-20).join("\n")}`,
      `cd tools/pulumi && go build -o ${final} -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v${PULUMI_VERSION}" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi`,
    );
  }
  fs.renameSync(partial, final);
  return final;
}

/**
 * Resolution: SHIPSHAPE_PULUMI_CLI → `pulumi` on PATH (>= min version) →
 * per-version cache → build from Go modules into that cache. (The official
 * installer needs internet; on machines that have it, install Pulumi normally
 * and it is picked up from PATH.)
 */
export async function resolvePulumi(
  log: (line: string) => void,
): Promise<ResolvedTool & { pluginDir: string }> {
  const candidates: Array<[string | undefined, string]> = [
    [process.env.SHIPSHAPE_PULUMI_CLI, "SHIPSHAPE_PULUMI_CLI"],
    [which("pulumi"), "PATH"],
  ];
  for (const [bin, source] of candidates) {
    if (!bin) continue;
    const v = pulumiVersion(bin);
    if (v && compareVersions(v, PULUMI_MIN_VERSION) >= 0) {
      const pluginDir = cachedBinDir();
      fs.mkdirSync(pluginDir, { recursive: true });
      installNodejsDynamicProviderShim(pluginDir);
      return { path: bin, version: v, source, pluginDir };
    }
    if (source === "SHIPSHAPE_PULUMI_CLI") {
      throw new ToolchainError(
        "pulumi",
        `${bin} reports version ${v ?? "?"}`,
        `use Pulumi >= ${PULUMI_MIN_VERSION}`,
      );
    }
    log(`ignoring ${bin} (version ${v ?? "unknown"} < ${PULUMI_MIN_VERSION})`);
  }
  const cached = path.join(cachedBinDir(), "pulumi");
  let source = `cache ${cachedBinDir()}`;
  if (!fs.existsSync(cached) || !pulumiVersion(cached)) {
    await buildFromGoModules(log);
    source = `built now from Go modules (tools/pulumi)`;
  }
  const version = pulumiVersion(cached);
  if (!version)
    throw new ToolchainError("pulumi", `${cached} does not run`, `rm -rf ${cachedBinDir()} and rerun`);
  installNodejsDynamicProviderShim(cachedBinDir());
  return { path: cached, version, source, pluginDir: cachedBinDir() };
}
