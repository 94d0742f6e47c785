/**
 * What is running and what is on disk, read straight from the machine (Linux
 * /proc and the Pulumi file backend), never from Shipshape's own records: the
 * chaos suite's leak checks must not trust the component they check.
 */
import fs from "node:fs";
import path from "node:path";
import { LOCAL_PROJECT } from "../../infra/local/program";
import { stackCheckpoint } from "../../infra/pulumi/checkpoint";
import { fileBackendDir, type PulumiSettings } from "../../infra/pulumi/settings";
import { listProcs } from "../../lib/runtime/procfs";

export interface ProcessInfo {
  pid: number;
  pgid: number;
  /** argv joined with spaces. */
  cmdline: string;
  env: Map<string, string>;
}

/** Live (non-zombie) processes whose environment has any of `keys`. */
export function processesWithEnv(keys: string[]): ProcessInfo[] {
  return listProcs(keys)
    .filter((p) => !p.zombie && p.env.size > 0)
    .map((p) => ({ pid: p.pid, pgid: p.pgid, cmdline: p.argv.join(" "), env: p.env }));
}

/**
 * Running shop instances per Pulumi stack name (from SHIPSHAPE_INSTANCE_KEY=<stack>/<index>),
 * as process groups: an instance is `sh -c <command>` and what it runs, one group.
 */
export function instancesByStack(stackPrefix: string): Map<string, number[]> {
  const byStack = new Map<string, Set<number>>();
  for (const p of processesWithEnv(["SHIPSHAPE_INSTANCE_KEY"])) {
    const key = p.env.get("SHIPSHAPE_INSTANCE_KEY") ?? "";
    if (!key.startsWith(stackPrefix)) continue;
    const stack = key.slice(0, key.lastIndexOf("/"));
    byStack.set(stack, (byStack.get(stack) ?? new Set()).add(p.pgid));
  }
  return new Map([...byStack].map(([k, v]) => [k, [...v]]));
}

/**
 * Router processes (control process and its HAProxy, which inherits the
 * token's variable) whose command line points into `stateDir`.
 */
export function routerProcesses(stateDir: string): ProcessInfo[] {
  const inside = path.join(path.resolve(stateDir), path.sep);
  return processesWithEnv(["SHIPSHAPE_ROUTER_TOKEN"]).filter((p) => p.cmdline.includes(inside));
}

function backendDir(settings: PulumiSettings): string {
  const dir = fileBackendDir(settings);
  if (!dir) throw new Error(`the leak checks read a file backend; ${settings.backendUrl} is not one`);
  return dir;
}

/** Pulumi CLI and plugin processes working on this backend. */
export function pulumiProcesses(settings: PulumiSettings): ProcessInfo[] {
  return processesWithEnv(["PULUMI_BACKEND_URL"]).filter(
    (p) => p.env.get("PULUMI_BACKEND_URL") === settings.backendUrl && /(^|\/)pulumi(\s|$|-)/.test(p.cmdline),
  );
}

/** The `pulumi` CLI itself (not its language host or provider plugins). */
export function pulumiCliProcesses(settings: PulumiSettings): ProcessInfo[] {
  return pulumiProcesses(settings).filter((p) => /(^|\/)pulumi(\s|$)/.test(p.cmdline.split(" ")[0] ?? ""));
}

/** Stacks of the local project in the file backend. */
export function pulumiStacks(settings: PulumiSettings): string[] {
  const dir = path.join(backendDir(settings), ".pulumi", "stacks", LOCAL_PROJECT);
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .map((f) => f.slice(0, -".json".length))
    .sort();
}

/** Lock files of any stack of the local project. */
export function pulumiLocks(settings: PulumiSettings): string[] {
  const dir = path.join(backendDir(settings), ".pulumi", "locks");
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => f.endsWith(".json")).sort();
}

/** Operations a checkpoint still records as in flight (an interrupted update that nobody cleaned up). */
export function pendingOperations(settings: PulumiSettings, stack: string): number {
  return stackCheckpoint(settings, LOCAL_PROJECT, stack)?.pending.length ?? 0;
}

/** Kills every instance process group of the scope (teardown after a failed campaign). */
export async function reapScopeProcesses(stackPrefix: string): Promise<void> {
  for (const groups of instancesByStack(stackPrefix).values()) {
    for (const g of groups) {
      try {
        process.kill(-g, "SIGKILL");
      } catch {
        // gone
      }
    }
  }
}
