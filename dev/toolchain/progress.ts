/**
 * Long set-up steps (building the Pulumi CLI, pip and apt installs) run
 * minutes with little or no output of their own. `runWithProgress` runs such a
 * command and keeps saying what it is doing and for how long: in a terminal
 * one line rewritten every second, elsewhere (CI logs) a line every 15 s —
 * "building Pulumi CLI: 3m05s — compiling: 812 packages built (github.com/…)".
 * The step comes from the command's own output through `step(line)`.
 */
import { type SpawnOptions, spawn } from "node:child_process";
import readline from "node:readline";
import type { RunResult } from "./run";

export interface ProgressOptions {
  /** What is being done: "building Pulumi CLI v3.274.1 from Go modules". */
  label: string;
  /** The step an output line shows (undefined: the line says nothing new). */
  step?: (line: string) => string | undefined;
  /** Where progress lines go when not rewriting a terminal line. */
  log: (line: string) => void;
  /** Rewrite one terminal line (default: when stdout is a TTY). */
  inPlace?: boolean;
  /** Seconds between two progress lines when not in place (default 15). */
  everySeconds?: number;
}

/** 185 000 → "3m05s", 9 000 → "9s". */
export function formatElapsed(ms: number): string {
  const s = Math.floor(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
}

const MAX_OUTPUT = 64 * 1024;

/** Runs `cmd` (never throws on a non-zero exit), reporting progress; resolves with its status and output tail. */
export function runWithProgress(
  cmd: string,
  args: string[],
  spawnOptions: SpawnOptions,
  progress: ProgressOptions,
): Promise<RunResult> {
  const started = Date.now();
  const inPlace = progress.inPlace ?? Boolean(process.stdout.isTTY);
  let step = "starting";
  let stdout = "";
  let stderr = "";
  const line = () => `${progress.label}: ${formatElapsed(Date.now() - started)} — ${step}`;
  const show = () => {
    if (inPlace) process.stdout.write(`\r\x1b[2K  · ${line().slice(0, (process.stdout.columns ?? 120) - 6)}`);
    else progress.log(line());
  };
  if (!inPlace) progress.log(`${progress.label}…`);
  const timer = setInterval(show, inPlace ? 1000 : (progress.everySeconds ?? 15) * 1000);
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { ...spawnOptions, stdio: ["ignore", "pipe", "pipe"] });
    const follow = (stream: NodeJS.ReadableStream | null, into: "out" | "err") => {
      if (!stream) return;
      readline.createInterface({ input: stream }).on("line", (l) => {
        if (into === "out") stdout = `${stdout}${l}\n`.slice(-MAX_OUTPUT);
        else stderr = `${stderr}${l}\n`.slice(-MAX_OUTPUT);
        const next = progress.step?.(l);
        if (next) step = next;
      });
    };
    follow(child.stdout, "out");
    follow(child.stderr, "err");
    const finish = (status: number | null, error?: Error) => {
      clearInterval(timer);
      if (inPlace) process.stdout.write("\r\x1b[2K");
      const outcome = status === 0 && !error ? "done" : "failed";
      progress.log(`${progress.label}: ${outcome} in ${formatElapsed(Date.now() - started)}`);
      resolve({ status: error ? -1 : status, stdout, stderr: error ? error.message : stderr });
    };
    child.once("error", (err) => finish(null, err));
    child.once("close", (code) => finish(code));
  });
}
