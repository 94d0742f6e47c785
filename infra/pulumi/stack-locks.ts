import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { z } from "zod";

const LockFile = z
  .object({ pid: z.number(), hostname: z.string(), timestamp: z.string().optional() })
  .loose();

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function lockFilesOf(backendDir: string, project: string, stack: string): string[] {
  // file backend layout: <backend>/.pulumi/locks/organization/<project>/<stack>/<uuid>.json
  const dir = path.join(backendDir, ".pulumi", "locks", "organization", project, stack);
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .map((f) => path.join(dir, f));
}

export interface StaleLockReport {
  removed: string[];
  heldByLiveProcess: Array<{ file: string; pid: number }>;
}

/**
 * A `pulumi up` that was SIGKILLed leaves its lock file behind, and every
 * later operation on the stack fails with "the stack is currently locked".
 * A lock is stale when it was taken on this host by a process that no longer
 * exists; only those are removed. Locks from other hosts or live processes
 * are reported, never touched.
 */
export function clearStaleLocks(backendDir: string, project: string, stack: string): StaleLockReport {
  const report: StaleLockReport = { removed: [], heldByLiveProcess: [] };
  for (const file of lockFilesOf(backendDir, project, stack)) {
    let lock: z.infer<typeof LockFile>;
    try {
      lock = LockFile.parse(JSON.parse(fs.readFileSync(file, "utf8")));
    } catch {
      continue; // unreadable: leave it for a human
    }
    if (lock.hostname === os.hostname() && !isProcessAlive(lock.pid)) {
      fs.rmSync(file, { force: true });
      report.removed.push(file);
    } else {
      report.heldByLiveProcess.push({ file, pid: lock.pid });
    }
  }
  return report;
}

export function listLocks(backendDir: string, project: string, stack: string): string[] {
  return lockFilesOf(backendDir, project, stack);
}
