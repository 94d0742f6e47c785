// `shipshape stats` (what runs: cli/actions/stats.ts, loaded only when this command runs).

import type { Command } from "commander";
import type { CliContext } from "../context";

export interface StatsOptions {
  service?: string;
  env?: string;
  days: string;
  json?: boolean;
}

export function registerStats(program: Command, ctx: CliContext): void {
  program
    .command("stats")
    .description(
      "deployment frequency, duration p50/p95, change failure rate, MTTR, per-phase durations, where failures happen",
    )
    .option("--service <name>", "only this service")
    .option("--env <name>", "only this environment")
    .option("--days <n>", "window in days", "30")
    .option("--json", "print the figures as JSON")
    .addHelpText("after", "\nExample:\n  shipshape stats --service shop --days 7")
    .action(async (options: StatsOptions) => {
      const { stats } = await import("../actions/stats");
      await stats(ctx, options);
    });
}
