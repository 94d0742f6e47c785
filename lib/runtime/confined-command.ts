/**
 * Runs a shell command that is the user's code (an app-config check, a smoke
 * test): in its own process group, killed whole on timeout and as soon as the
 * shell exits (nothing it started in the background outlives it), with an
 * environment the caller chose (never inherited) and output kept bounded.
 *
 * `runAs`: a worker running as root runs the command as the unprivileged user
 * its instances run as, with a fresh private HOME, so it cannot read what only
 * the worker may (the router's admin token, the routing table, Pulumi state).
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export interface ConfinedCommand {
  command: string;
  env: Record<string, string>;
  timeoutMs: number;
  cwd?: string;
  runAs?: { uid: number; gid: number };
  /** Most of the output kept while it runs (the end is kept). */
  maxOutputChars?: number;
}

export interface ConfinedResult {
  /** Exit code; null when killed or when it could not start. */
  code: number | null;
  timedOut: boolean;
  /** stdout and stderr interleaved, the last maxOutputChars of it. */
  output: string;
}

const DEFAULT_MAX_OUTPUT = 16_000;

function killGroup(pid: number | undefined): void {
  try {
    if (pid) process.kill(-pid, "SIGKILL");
  } catch {
    // ESRCH: the group is already gone.
  }
}

/** A HOME only `runAs` may use, removed after the command. */
function privateHomeFor(runAs: { uid: number; gid: number }): string {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "shipshape-command-home-"));
  fs.chownSync(home, runAs.uid, runAs.gid);
  fs.chmodSync(home, 0o700);
  return home;
}

/**
 * Whether `user` can read `file` by the permission bits: search on every
 * folder above it and read on the file. (Run as root, we cannot ask the
 * kernel on its behalf without starting a process as it.)
 */
export function readableBy(file: string, user: { uid: number; gid: number }): boolean {
  const allows = (st: fs.Stats, bits: { owner: number; group: number; other: number }) =>
    (st.uid === user.uid && (st.mode & bits.owner) !== 0) ||
    (st.gid === user.gid && (st.mode & bits.group) !== 0) ||
    (st.mode & bits.other) !== 0;
  try {
    const absolute = path.resolve(file);
    let dir = path.dirname(absolute);
    const folders: string[] = [];
    for (;;) {
      folders.push(dir);
      const up = path.dirname(dir);
      if (up === dir) break;
      dir = up;
    }
    const search = { owner: 0o100, group: 0o010, other: 0o001 };
    if (!folders.every((d) => allows(fs.statSync(d), search))) return false;
    return allows(fs.statSync(absolute), { owner: 0o400, group: 0o040, other: 0o004 });
  } catch {
    return false;
  }
}

export function runConfinedCommand(c: ConfinedCommand): Promise<ConfinedResult> {
  const max = c.maxOutputChars ?? DEFAULT_MAX_OUTPUT;
  const home = c.runAs ? privateHomeFor(c.runAs) : undefined;
  const cleanup = () => {
    if (home) fs.rmSync(home, { recursive: true, force: true });
  };
  return new Promise((resolve) => {
    const child = spawn("sh", ["-c", c.command], {
      env: home ? { ...c.env, HOME: home } : c.env,
      ...(c.cwd ? { cwd: c.cwd } : {}),
      ...(c.runAs ? { uid: c.runAs.uid, gid: c.runAs.gid } : {}),
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    const collect = (chunk: Buffer) => {
      output = (output + chunk.toString("utf8")).slice(-max);
    };
    child.stdout?.on("data", collect);
    child.stderr?.on("data", collect);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid);
    }, c.timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      cleanup();
      resolve({ code: null, timedOut: false, output: e.message });
    });
    // Whatever the shell left running in the background goes with it; this
    // also closes the pipes a background child still holds.
    child.on("exit", () => killGroup(child.pid));
    child.on("close", (code) => {
      clearTimeout(timer);
      cleanup();
      resolve({ code, timedOut, output });
    });
  });
}

/**
 * Runs `c` with `content` in a private file (in a fresh folder, mode 600,
 * owned by the user it runs as) whose path is in the environment variable
 * `input.envVar`; the folder is removed afterwards. How notification command
 * sinks and command hooks hand their JSON to the user's script: a file, not
 * stdin, so a script can read it more than once.
 */
export async function runConfinedWithFile(
  c: ConfinedCommand,
  input: { envVar: string; fileName: string; content: string },
): Promise<ConfinedResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "shipshape-input-"));
  const file = path.join(dir, input.fileName);
  try {
    fs.writeFileSync(file, input.content, { mode: 0o600 });
    if (c.runAs) {
      fs.chownSync(dir, c.runAs.uid, c.runAs.gid);
      fs.chownSync(file, c.runAs.uid, c.runAs.gid);
    }
    return await runConfinedCommand({ ...c, env: { ...c.env, [input.envVar]: file } });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
