import { spawn } from "node:child_process";
import path from "node:path";
import { PROJECT_ROOT } from "../lib/runtime/paths";

/**
 * Runs one of the project's runnable entry points (the ones npm scripts run)
 * with tsx in the foreground, so `shipshape dev` behaves exactly like `npm run dev`.
 */
export function runScript(script: string, args: string[]): Promise<number> {
  const tsx = path.join(PROJECT_ROOT, "node_modules", ".bin", "tsx");
  return new Promise((resolve) => {
    const child = spawn(tsx, [path.join(PROJECT_ROOT, "scripts", script), ...args], {
      cwd: PROJECT_ROOT,
      stdio: "inherit",
    });
    // Ctrl-C in a terminal reaches the child through the process group; a signal sent to this
    // process alone (a supervisor, a test) is passed on. The child stops once either way.
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      process.on(signal, () => {
        child.kill(signal);
      });
    }
    child.on("exit", (code) => resolve(code ?? 1));
  });
}
