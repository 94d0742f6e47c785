import { spawn } from "node:child_process";
import path from "node:path";
import { PROJECT_ROOT } from "../../lib/runtime/paths";

export interface CliRun {
  code: number | null;
  out: string;
  err: string;
}

/** `npx shipshape …` as a separate process (bin/shipshape.cjs), the way a user runs it. */
export function runShipshape(
  args: string[],
  options: { cwd: string; env?: Record<string, string> },
): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(PROJECT_ROOT, "bin", "shipshape.cjs"), ...args], {
      cwd: options.cwd,
      env: { ...process.env, NO_COLOR: "1", ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => {
      out += String(d);
    });
    child.stderr.on("data", (d) => {
      err += String(d);
    });
    child.on("exit", (code) => resolve({ code, out, err }));
  });
}

/** `shipshape migrate status --json` of a scope, as `name:phase` lines (what an operator reads). */
export async function migrationPhases(
  shipshape: (...args: string[]) => Promise<CliRun>,
  scope: { service: string; environment: string; databaseUrl: string },
): Promise<string[]> {
  const r = await shipshape(
    ...["migrate", "status", "--json", "--service", scope.service, "--env", scope.environment],
    ...["--database-url", scope.databaseUrl],
  );
  if (r.code !== 0) throw new Error(`migrate status failed: ${r.err}`);
  return (JSON.parse(r.out).migrations as Array<{ name: string; phase: string }>).map(
    (m) => `${m.name}:${m.phase}`,
  );
}
