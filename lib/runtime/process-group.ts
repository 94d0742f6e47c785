import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

export interface DetachedProcess {
  child: ChildProcess;
  pid: number;
  logFile: string;
  exited: Promise<number | null>;
}

/**
 * Starts a long-running program in its own process group with output appended
 * to a log file. Its own group lets us stop it — and anything it started (the
 * Temporal CLI forks the server; a worker forks `pulumi`) — with one signal.
 */
export function spawnDetached(
  cmd: string,
  args: string[],
  options: { logFile: string; env?: NodeJS.ProcessEnv; cwd?: string },
): DetachedProcess {
  fs.mkdirSync(path.dirname(options.logFile), { recursive: true });
  const out = fs.openSync(options.logFile, "a");
  const child = spawn(cmd, args, {
    detached: true,
    stdio: ["ignore", out, out],
    env: options.env ?? process.env,
    cwd: options.cwd,
  });
  fs.closeSync(out);
  if (!child.pid) throw new Error(`could not start ${cmd}`);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, pid: child.pid, logFile: options.logFile, exited };
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/** SIGTERM the group, wait up to graceMs, then SIGKILL whatever is left. */
export async function stopGroup(proc: DetachedProcess, graceMs = 10_000): Promise<void> {
  signalGroup(proc.pid, "SIGTERM");
  const timedOut = await Promise.race([
    proc.exited.then(() => false),
    new Promise<boolean>((r) => setTimeout(() => r(true), graceMs)),
  ]);
  if (timedOut) signalGroup(proc.pid, "SIGKILL");
  await proc.exited;
  // Children that ignored SIGTERM after the leader exited still share the group.
  signalGroup(proc.pid, "SIGKILL");
}

export function tailLog(file: string, lines = 30): string {
  try {
    return fs.readFileSync(file, "utf8").split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}
