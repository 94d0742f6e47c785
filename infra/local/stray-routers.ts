/**
 * Router processes that no process.json records. A router is recorded only
 * once it answers (ensureRouterProcess); a worker killed between spawning the
 * control process and that moment leaves it running, detached, from the
 * router's own files. The next start would run a second one beside it — two
 * control processes, each restarting its HAProxy when the other's takes it
 * over, the unrecorded one forever. Both kinds are found in /proc: a control
 * process by the routing table on its command line, an HAProxy by its config.
 */
import path from "node:path";
import { listProcs, type ProcInfo } from "../../lib/runtime/procfs";

const CONTROL_ENTRY = path.join("infra", "local", "router", "main.ts");

const argAfter = (argv: string[], flag: string) => {
  const i = argv.indexOf(flag);
  return i >= 0 ? argv[i + 1] : undefined;
};

/** Control processes (tsx and its node child) working on `routesFile`. */
function controlProcs(routesFile: string): ProcInfo[] {
  return listProcs().filter(
    (p) =>
      !p.zombie &&
      p.argv.some((a) => a.endsWith(CONTROL_ENTRY)) &&
      argAfter(p.argv, "--state-file") === routesFile,
  );
}

export const routerControlPids = (routesFile: string): number[] => controlProcs(routesFile).map((p) => p.pid);

/** HAProxy processes running `config` (only HAProxy is started with `-f` on it), whoever started them. */
export function haproxyPidsOn(config: string): number[] {
  return listProcs()
    .filter((p) => !p.zombie && argAfter(p.argv, "-f") === config)
    .map((p) => p.pid);
}

/**
 * SIGKILLs the control processes of `routesFile` (call it once the recorded
 * one is stopped) and waits until they are gone. Not their HAProxy: it goes
 * on serving, and the next control process takes its listener over as after
 * any control process died (or a stop stops it).
 */
export async function killStrayControlProcesses(routesFile: string): Promise<number[]> {
  const strays = routerControlPids(routesFile);
  for (const pid of strays) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone already
    }
  }
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline && routerControlPids(routesFile).some((p) => strays.includes(p)))
    await new Promise((r) => setTimeout(r, 50));
  return strays;
}
