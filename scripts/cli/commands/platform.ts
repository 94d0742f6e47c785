// `shipshape dev` and `shipshape demo`: the same as the npm scripts, for
// people who reach for the CLI first.

import { spawn } from "node:child_process";
import path from "node:path";
import type { Command } from "commander";
import { PROJECT_ROOT } from "../../toolchain/locations";
import type { CliContext } from "../context";

function runScript(script: string, args: string[]): Promise<number> {
  const tsx = path.join(PROJECT_ROOT, "node_modules", ".bin", "tsx");
  return new Promise((resolve) => {
    const child = spawn(tsx, [path.join(PROJECT_ROOT, "scripts", script), ...args], {
      cwd: PROJECT_ROOT,
      stdio: "inherit",
    });
    // Ctrl-C reaches the child through the terminal's process group; just wait.
    process.on("SIGINT", () => {});
    child.on("exit", (code) => resolve(code ?? 1));
  });
}

export function registerPlatform(program: Command, ctx: CliContext): void {
  program
    .command("dev")
    .description(
      "start the local platform: Temporal dev server + Web UI (:8233), PostgreSQL, worker; Ctrl-C stops all",
    )
    .addHelpText("after", "\nExample:\n  shipshape dev")
    .action(async () => {
      ctx.exitCode = await runScript("dev.ts", []);
    });
  program
    .command("demo")
    .description("run the narrated demo on embedded defaults")
    .option("--keep", "leave the stack running at the end")
    .addHelpText("after", "\nExample:\n  shipshape demo --keep")
    .action(async (options: { keep?: boolean }) => {
      ctx.exitCode = await runScript("demo.ts", options.keep ? ["--keep"] : []);
    });
}
