// `shipshape demo`: the same as `npm run demo`, for people who reach for the CLI first.

import type { Command } from "commander";
import type { CliContext } from "../context";
import { runScript } from "../run-script";

export function registerDemo(program: Command, ctx: CliContext): void {
  program
    .command("demo")
    .description("run the narrated demo on embedded defaults")
    .option("--keep", "leave the stack running at the end")
    .addHelpText("after", "\nExample:\n  shipshape demo --keep")
    .action(async (options: { keep?: boolean }) => {
      ctx.exitCode = await runScript("demo.ts", options.keep ? ["--keep"] : []);
    });
}
