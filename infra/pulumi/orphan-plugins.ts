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
import fs from "node:fs";
import path from "node:path";

interface Proc {
  pid: number;
  ppid: number;
  pgid: number;
  zombie: boolean;
  argv0: string;
  cmdline: string;
}

const PLUGIN = /(^|\/)pulumi-(resource|language|analyzer|converter)-[^\s/]+(\s|$)/;

function readProc(pid: number): Proc | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const argv = fs.readFileSync(`/proc/${pid}/cmdline`, "latin1").split("\0").filter(Boolean);
    return {
      pid,
      ppid: Number(fields[1]),
      pgid: Number(fields[2]),
      zombie: fields[0] === "Z",
      argv0: argv[0] ?? "",
      cmdline: argv.join(" "),
    };
  } catch {
    return null;
  }
}

function backendOf(pid: number): string | null {
  try {
    const kv = fs
      .readFileSync(`/proc/${pid}/environ`, "latin1")
      .split("\0")
      .find((e) => e.startsWith("PULUMI_BACKEND_URL="));
    return kv ? kv.slice("PULUMI_BACKEND_URL=".length) : null;
  } catch {
    return null;
  }
}

/** Kills orphaned plugins of `backendUrl` (with their helpers in the same process group); returns the pids killed. */
export function reapOrphanedPlugins(backendUrl: string): number[] {
  if (!fs.existsSync("/proc/self/stat")) return [];
  const procs = new Map<number, Proc>();
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const p = readProc(Number(entry));
    if (p) procs.set(p.pid, p);
  }
  const isLiveCli = (p: Proc) => !p.zombie && path.basename(p.argv0) === "pulumi";
  const hasLiveCliAncestor = (p: Proc) => {
    for (let q = procs.get(p.ppid), hops = 0; q && hops < 64; q = procs.get(q.ppid), hops++) {
      if (isLiveCli(q)) return true;
    }
    return false;
  };
  const orphans = [...procs.values()].filter(
    (p) => !p.zombie && PLUGIN.test(p.cmdline) && backendOf(p.pid) === backendUrl && !hasLiveCliAncestor(p),
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
