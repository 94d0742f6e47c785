// `shipshape list` and `shipshape history` (what runs: cli/actions/list.ts,
// loaded only when one of them runs).

import type { Command } from "commander";
import type { CliContext } from "../context";

export interface ListOptions {
  service?: string;
  env?: string;
  phase?: string;
  limit: string;
  json?: boolean;
}

function limitOption(value: string): string {
  if (!/^[1-9]\d*$/.test(value)) throw new Error(`--limit must be a positive whole number, got "${value}"`);
  return value;
}

async function run(ctx: CliContext, options: ListOptions, closedOnly: boolean): Promise<void> {
  const { showDeployments } = await import("../actions/list");
  await showDeployments(ctx, options, closedOnly);
}

export function registerList(program: Command, ctx: CliContext): void {
  program
    .command("list")
    .description("recent deployments (running and finished), newest first")
    .option("--service <name>", "only this service")
    .option("--env <name>", "only this environment")
    .option("--phase <phase>", "only deployments in this phase (e.g. awaiting-approval, needs-attention)")
    .option("--limit <n>", "at most n rows", limitOption, "20")
    .option("--json", "print rows as JSON")
    .addHelpText("after", "\nExample:\n  shipshape list --service shop --phase awaiting-approval")
    .action((options: ListOptions) => run(ctx, options, false));
  program
    .command("history")
    .description("finished deployments with their outcome and duration, newest first")
    .option("--service <name>", "only this service")
    .option("--env <name>", "only this environment")
    .option("--limit <n>", "at most n rows", limitOption, "50")
    .option("--json", "print rows as JSON")
    .addHelpText("after", "\nExample:\n  shipshape history --service shop --json")
    .action((options: ListOptions) => run(ctx, options, true));
}
