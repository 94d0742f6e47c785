import fs from "node:fs";
import path from "node:path";
import { type InlineProgramArgs, LocalWorkspace, PulumiCommand, type Stack } from "@pulumi/pulumi/automation";
import { PROJECT_ROOT, stateDir } from "../../lib/runtime/paths";
import { readManifest } from "../../lib/runtime/toolchain-manifest";
import { reapOrphanedPlugins } from "./orphan-plugins";
import { clearStaleLocks } from "./stack-locks";
import { removeTornSidecars } from "./torn-files";

/**
 * The documented development passphrase for the local file backend's secrets.
 * Production sets PULUMI_CONFIG_PASSPHRASE (or uses a real secrets provider).
 */
export const DEV_PASSPHRASE = "shipshape-dev-passphrase";

export interface PulumiPaths {
  backendDir: string;
  homeDir: string;
  workDir: string;
}

export function pulumiPaths(project: string): PulumiPaths {
  const root = path.join(stateDir(), "pulumi");
  return {
    backendDir: path.join(root, "backend"),
    homeDir: path.join(root, "home"),
    // Inside the clone so the dynamic-provider plugin (which resolves
    // @pulumi/pulumi from its working directory) finds node_modules.
    workDir: path.join(root, "work", project),
  };
}

/** Environment for every Pulumi CLI invocation: our backend, home, plugins and passphrase. */
export function pulumiEnv(project: string): Record<string, string> {
  const manifest = readManifest();
  const p = pulumiPaths(project);
  return {
    PULUMI_BACKEND_URL: `file://${p.backendDir}`,
    PULUMI_HOME: p.homeDir,
    PULUMI_CONFIG_PASSPHRASE: process.env.PULUMI_CONFIG_PASSPHRASE ?? DEV_PASSPHRASE,
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DIY_BACKEND_NO_LEGACY_WARNING: "true",
    PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: "true",
    PATH: `${manifest.pulumi.pluginDir}${path.delimiter}${process.env.PATH ?? ""}`,
  };
}

async function pulumiCommand(): Promise<PulumiCommand> {
  const manifest = readManifest();
  // PulumiCommand wants the install root that contains bin/pulumi.
  return PulumiCommand.get({
    root: path.dirname(path.dirname(manifest.pulumi.path)),
    skipVersionCheck: true,
  });
}

/**
 * createOrSelectStack for an inline program on the local file backend, after
 * clearing what a killed `pulumi` process on this host left: stale locks,
 * orphaned plugins, torn `.attrs` sidecars of the checkpoint.
 */
export async function openStack(
  args: InlineProgramArgs,
): Promise<{ stack: Stack; clearedLocks: string[]; reapedPlugins: number[]; repairedFiles: string[] }> {
  const p = pulumiPaths(args.projectName);
  for (const dir of [p.backendDir, p.homeDir, p.workDir]) fs.mkdirSync(dir, { recursive: true });
  const reapedPlugins = reapOrphanedPulumiPlugins(args.projectName);
  const cleared = clearStaleLocks(p.backendDir, args.projectName, args.stackName);
  const repaired = removeTornSidecars(p.backendDir, args.projectName, args.stackName);
  const stack = await LocalWorkspace.createOrSelectStack(args, {
    workDir: p.workDir,
    pulumiHome: p.homeDir,
    envVars: pulumiEnv(args.projectName),
    pulumiCommand: await pulumiCommand(),
    projectSettings: {
      name: args.projectName,
      runtime: "nodejs",
      backend: { url: `file://${p.backendDir}` },
    },
  });
  return { stack, clearedLocks: cleared.removed, reapedPlugins, repairedFiles: repaired };
}

/** Plugins a killed `pulumi` of this project's backend left running (see orphan-plugins.ts). */
export function reapOrphanedPulumiPlugins(project: string): number[] {
  return reapOrphanedPlugins(`file://${pulumiPaths(project).backendDir}`);
}

/**
 * After a crash mid-update the checkpoint can carry pending operations; the
 * next `up` refuses to run until they are resolved. Pending creates are
 * cleared through a refresh (the providers here create idempotently, keyed by
 * stable names, so an orphan is re-adopted on the next create); other pending
 * operations are dropped via export/import.
 */
export async function clearPendingOperations(stack: Stack): Promise<number> {
  const state = await stack.exportStack();
  const deployment = state.deployment as { pending_operations?: unknown[] } | undefined;
  const pending = deployment?.pending_operations?.length ?? 0;
  if (pending === 0) return 0;
  await stack.refresh({ clearPendingCreates: true, color: "never" });
  const after = await stack.exportStack();
  const afterDeployment = after.deployment as { pending_operations?: unknown[] } | undefined;
  if ((afterDeployment?.pending_operations?.length ?? 0) > 0) {
    afterDeployment!.pending_operations = [];
    await stack.importStack(after);
  }
  return pending;
}

export async function stackExists(project: string, stackName: string): Promise<boolean> {
  const p = pulumiPaths(project);
  const file = path.join(p.backendDir, ".pulumi", "stacks", project, `${stackName}.json`);
  return fs.existsSync(file) || fs.existsSync(`${file}.gz`);
}

export { PROJECT_ROOT };
