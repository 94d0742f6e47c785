// `shipshape dev`: the same as `npm run dev`, for people who reach for the CLI first.

import type { Command } from "commander";
import type { CliContext } from "../context";
import { runScript } from "../run-script";

export function registerDev(program: Command, ctx: CliContext): void {
  program
    .command("dev")
    .description(
      "start the local platform for the project here: Temporal dev server + Web UI (:8233), PostgreSQL, a worker; Ctrl-C stops all",
    )
    .addHelpText(
      "after",
      "\nWrites .shipshape/dev/stack.json (temporalAddress, webUi, databaseUrl) under the current folder;\nthe worker's DATABASE_URL is the stack's database.\n\nExample:\n  shipshape dev",
    )
    .action(async () => {
      ctx.exitCode = await runScript("dev.ts", ["--root", process.cwd()]);
    });
}
