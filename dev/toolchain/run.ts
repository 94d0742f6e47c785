import { type SpawnSyncOptions, spawnSync } from "node:child_process";

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command synchronously and captures its output (never throws on non-zero exit). */
export function run(cmd: string, args: string[], options: SpawnSyncOptions = {}): RunResult {
  const result = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 64 * 1024 * 1024, ...options });
  return {
    status: result.error ? -1 : result.status,
    stdout: String(result.stdout ?? ""),
    stderr: String(result.stderr ?? (result.error ? result.error.message : "")),
  };
}

/** First path where `name` is an executable on PATH, or undefined. */
export function which(name: string): string | undefined {
  const r = run("sh", ["-c", `command -v ${name}`]);
  const found = r.stdout.trim();
  return r.status === 0 && found ? found : undefined;
}

export class ToolchainError extends Error {
  constructor(
    readonly tool: string,
    message: string,
    readonly howToFix: string,
  ) {
    super(`${tool}: ${message}\n  How to fix by hand: ${howToFix}`);
  }
}
