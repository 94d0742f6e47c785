import fs from "node:fs";
import path from "node:path";
import { type InlineProgramArgs, LocalWorkspace, PulumiCommand, type Stack } from "@pulumi/pulumi/automation";
import { PROJECT_ROOT } from "../../lib/runtime/paths";
import { reapOrphanedPlugins } from "./orphan-plugins";
import { fileBackendDir, type PulumiSettings } from "./settings";
import { clearStaleLocks } from "./stack-locks";
import { removeTornSidecars } from "./torn-files";

export { DEV_PASSPHRASE, devPulumiSettings, type PulumiSettings } from "./settings";

/** The work folder of a project (inline programs run there; the dynamic provider resolves modules from it). */
export function projectWorkDir(settings: PulumiSettings, project: string): string {
  return path.join(settings.workRoot, project);
}

/**
 * Inline programs run in the work folder, and the dynamic-provider plugin
 * resolves @pulumi/pulumi (and the provider's own modules) from there: a work
 * folder outside this installation gets a node_modules link to it.
 */
function linkNodeModules(workRoot: string): void {
  const relative = path.relative(PROJECT_ROOT, workRoot);
  if (!relative.startsWith("..") && !path.isAbsolute(relative)) return;
  const link = path.join(workRoot, "node_modules");
  if (!fs.existsSync(link)) fs.symlinkSync(path.join(PROJECT_ROOT, "node_modules"), link, "dir");
}

/** Environment of every Pulumi CLI invocation: the backend, home, secrets and plugins of `settings`. */
export function pulumiEnv(settings: PulumiSettings): Record<string, string> {
  return {
    PULUMI_BACKEND_URL: settings.backendUrl,
    PULUMI_HOME: settings.homeDir,
    ...(settings.passphrase !== undefined ? { PULUMI_CONFIG_PASSPHRASE: settings.passphrase } : {}),
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DIY_BACKEND_NO_LEGACY_WARNING: "true",
    PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: "true",
    ...(settings.pluginDir
      ? { PATH: `${settings.pluginDir}${path.delimiter}${process.env.PATH ?? ""}` }
      : {}),
  };
}

async function pulumiCommand(settings: PulumiSettings): Promise<PulumiCommand> {
  // PulumiCommand wants the install root that contains bin/pulumi; without one, `pulumi` on PATH.
  return PulumiCommand.get({
    ...(settings.cliRoot ? { root: settings.cliRoot } : {}),
    skipVersionCheck: true,
  });
}

/**
 * createOrSelectStack for an inline program on the configured backend. On a
 * file backend it first clears what a killed `pulumi` process on this host
 * left: stale locks, torn `.attrs` sidecars of the checkpoint; orphaned
 * plugins of the backend are reaped on every backend.
 */
export async function openStack(
  settings: PulumiSettings,
  args: InlineProgramArgs,
): Promise<{ stack: Stack; clearedLocks: string[]; reapedPlugins: number[]; repairedFiles: string[] }> {
  const workDir = projectWorkDir(settings, args.projectName);
  const backendDir = fileBackendDir(settings);
  for (const dir of [settings.homeDir, workDir, ...(backendDir ? [backendDir] : [])])
    fs.mkdirSync(dir, { recursive: true });
  linkNodeModules(settings.workRoot);
  const reapedPlugins = reapOrphanedPulumiPlugins(settings);
  const cleared = backendDir ? clearStaleLocks(backendDir, args.projectName, args.stackName).removed : [];
  const repaired = backendDir ? removeTornSidecars(backendDir, args.projectName, args.stackName) : [];
  const stack = await LocalWorkspace.createOrSelectStack(args, {
    workDir,
    pulumiHome: settings.homeDir,
    envVars: pulumiEnv(settings),
    pulumiCommand: await pulumiCommand(settings),
    ...(settings.secretsProvider ? { secretsProvider: settings.secretsProvider } : {}),
    projectSettings: {
      name: args.projectName,
      runtime: "nodejs",
      backend: { url: settings.backendUrl },
    },
  });
  return { stack, clearedLocks: cleared, reapedPlugins, repairedFiles: repaired };
}

/** Plugins a killed `pulumi` of this backend left running (see orphan-plugins.ts). */
export function reapOrphanedPulumiPlugins(settings: PulumiSettings): number[] {
  return reapOrphanedPlugins(settings.backendUrl);
}

/** Whether the stack exists: a file check on a file backend, `pulumi stack ls` elsewhere. */
export async function stackExists(
  settings: PulumiSettings,
  project: string,
  stackName: string,
): Promise<boolean> {
  const backendDir = fileBackendDir(settings);
  if (backendDir) {
    const file = path.join(backendDir, ".pulumi", "stacks", project, `${stackName}.json`);
    return fs.existsSync(file) || fs.existsSync(`${file}.gz`);
  }
  const workDir = projectWorkDir(settings, project);
  fs.mkdirSync(workDir, { recursive: true });
  const ws = await LocalWorkspace.create({
    workDir,
    pulumiHome: settings.homeDir,
    envVars: pulumiEnv(settings),
    pulumiCommand: await pulumiCommand(settings),
    projectSettings: { name: project, runtime: "nodejs", backend: { url: settings.backendUrl } },
  });
  return (await ws.listStacks()).some((s) => s.name === stackName || s.name.endsWith(`/${stackName}`));
}
