/**
 * Reading processes from Linux /proc: what leak checks and crash clean-ups
 * need to find processes by what they really are (their environment, their
 * parent, their process group), not by what a pidfile claims. Every read
 * tolerates the process exiting meanwhile. Elsewhere (no /proc) nothing is listed.
 */
import fs from "node:fs";

export interface ProcInfo {
  pid: number;
  ppid: number;
  pgid: number;
  /** A zombie has exited; only its parent has not collected it yet. */
  zombie: boolean;
  argv: string[];
  /** The requested environment variables that are set. */
  env: Map<string, string>;
}

export const hasProcfs = (): boolean => fs.existsSync("/proc/self/stat");

/** One process, with the environment variables named in `envKeys`; null if it is gone or unreadable. */
export function readProc(pid: number, envKeys: readonly string[] = []): ProcInfo | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name, which is in parentheses and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const env = new Map<string, string>();
    if (envKeys.length > 0) {
      try {
        for (const kv of fs.readFileSync(`/proc/${pid}/environ`, "latin1").split("\0")) {
          const i = kv.indexOf("=");
          if (i > 0 && envKeys.includes(kv.slice(0, i))) env.set(kv.slice(0, i), kv.slice(i + 1));
        }
      } catch {
        // another user's process: listed (it may be someone's parent), environment unknown
      }
    }
    return {
      pid,
      ppid: Number(fields[1]),
      pgid: Number(fields[2]),
      zombie: fields[0] === "Z",
      argv: fs.readFileSync(`/proc/${pid}/cmdline`, "latin1").split("\0").filter(Boolean),
      env,
    };
  } catch {
    return null;
  }
}

/** Every readable process except this one. */
export function listProcs(envKeys: readonly string[] = []): ProcInfo[] {
  if (!hasProcfs()) return [];
  const out: ProcInfo[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const p = readProc(Number(entry), envKeys);
    if (p) out.push(p);
  }
  return out;
}
