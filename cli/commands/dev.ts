// `shipshape dev`: the same as `npm run dev`, for people who reach for the CLI first.

import type { Command } from "commander";
import type { CliContext } from "../context";
import { runScript } from "../run-script";

export function registerDev(program: Command, ctx: CliContext): void {
  program
    .command("dev")
    .description(
      "start the local platform: Temporal dev server + Web UI (:8233), PostgreSQL, worker; Ctrl-C stops all",
    )
    .addHelpText("after", "\nExample:\n  shipshape dev")
    .action(async () => {
      ctx.exitCode = await runScript("dev.ts", []);
    });
}
