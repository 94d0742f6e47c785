/**
 * A `pulumi` CLI that dies mid-operation (SIGKILL, the OOM killer) leaves its
 * plugins behind: the language host and the provider plugins are its
 * children, and a provider blocked on its gRPC server does not notice that
 * the engine is gone. They keep running — a leaked process per crash, holding
 * memory and, for the dynamic provider, the program's state.
 *
 * A plugin is an orphan when no live `pulumi` CLI is among its ancestors.
 * Only plugins working for the given backend (PULUMI_BACKEND_URL in their
 * environment, set by pulumiEnv) are considered, so plugins of other projects
 * on the machine and plugins of a concurrent, healthy operation (whose CLI is
 * alive) are never touched. Linux (/proc) only; elsewhere nothing is reaped.
 */
import path from "node:path";
import { listProcs, type ProcInfo } from "../../lib/runtime/procfs";

const PLUGIN = /(^|\/)pulumi-(resource|language|analyzer|converter)-[^\s/]+(\s|$)/;

/** Kills orphaned plugins of `backendUrl` (with their helpers in the same process group); returns the pids killed. */
export function reapOrphanedPlugins(backendUrl: string): number[] {
  const procs = new Map(listProcs(["PULUMI_BACKEND_URL"]).map((p) => [p.pid, p]));
  const isLiveCli = (p: ProcInfo) => !p.zombie && path.basename(p.argv[0] ?? "") === "pulumi";
  const hasLiveCliAncestor = (p: ProcInfo) => {
    for (let q = procs.get(p.ppid), hops = 0; q && hops < 64; q = procs.get(q.ppid), hops++) {
      if (isLiveCli(q)) return true;
    }
    return false;
  };
  const orphans = [...procs.values()].filter(
    (p) =>
      !p.zombie &&
      PLUGIN.test(p.argv.join(" ")) &&
      p.env.get("PULUMI_BACKEND_URL") === backendUrl &&
      !hasLiveCliAncestor(p),
  );
  // The plugin and what it runs in its own process group (the wrapper script's
  // node). NOT everything below it: the local provider's instances are its
  // children too, but live in groups of their own, and the next `up` adopts them.
  const doomed = new Set<number>();
  const addGroupTree = (pid: number, pgid: number) => {
    doomed.add(pid);
    for (const c of procs.values())
      if (c.ppid === pid && c.pgid === pgid && !doomed.has(c.pid)) addGroupTree(c.pid, pgid);
  };
  for (const o of orphans) addGroupTree(o.pid, o.pgid);
  for (const pid of doomed) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  return [...doomed];
}
