// `shipshape report` (what runs: cli/actions/report.ts, loaded only when this command runs).

import type { Command } from "commander";
import type { CliContext } from "../context";

export interface ReportOptions {
  run?: string;
  html?: string;
  json?: boolean;
}

export function registerReport(program: Command, ctx: CliContext): void {
  program
    .command("report <deployment>")
    .description(
      "a picture of one deployment: traffic weights, every metric's blue and green series with its limit and verdicts, phases, decisions, compensations, time to recovery",
    )
    .option(
      "--run <id>",
      "this run of the deployment (default: the latest); a long bake's runs before it are read with it",
    )
    .option("--html <file>", "write a self-contained HTML page (opens offline)")
    .option("--json", "print the report's data as JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  shipshape report shop/production --html report.html\n  shipshape report shop/production --run 0f3c… --json",
    )
    .action(async (ref: string, options: ReportOptions) => {
      const { report } = await import("../actions/report");
      await report(ctx, ref, options);
    });
}
