/**
 * Router control processes that no process.json records. A router is recorded
 * only once it answers (ensureRouterProcess); a worker killed between spawning
 * the control process and that moment leaves it running, detached, serving
 * from the router's own files. The next start would run a second one beside
 * it — both supervising an HAProxy on the same config, the unrecorded one
 * forever (a stopped HAProxy of it is started again by its control process).
 * They are found in /proc by the routing table on their command line.
 */
import path from "node:path";
import { signalGroup } from "../../lib/runtime/process-group";
import { listProcs } from "../../lib/runtime/procfs";

const CONTROL_ENTRY = path.join("infra", "local", "router", "main.ts");

/** Process groups of control processes (tsx and its node child) working on `routesFile`. */
export function routerControlGroups(routesFile: string): number[] {
  const groups = new Set<number>();
  for (const p of listProcs()) {
    if (p.zombie || !p.argv.some((a) => a.endsWith(CONTROL_ENTRY))) continue;
    const i = p.argv.indexOf("--state-file");
    if (i >= 0 && p.argv[i + 1] === routesFile) groups.add(p.pgid);
  }
  return [...groups];
}

/**
 * SIGKILLs every control process group of `routesFile` except `keep` (with
 * the HAProxy each supervises: same group) and waits until they are gone.
 * Nothing routes through an unrecorded router, so there is nothing to drain.
 */
export async function killStrayRouters(routesFile: string, keep?: number): Promise<number[]> {
  const strays = routerControlGroups(routesFile).filter((g) => g !== keep);
  for (const g of strays) signalGroup(g, "SIGKILL");
  const deadline = Date.now() + 5000;
  const alive = () =>
    new Set(
      listProcs()
        .filter((p) => !p.zombie)
        .map((p) => p.pgid),
    );
  while (Date.now() < deadline) {
    const groups = alive();
    if (!strays.some((g) => groups.has(g))) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return strays;
}
