// `shipshape list` and `shipshape history`: deployments from Temporal
// visibility, filtered by the Shipshape search attributes.

import type { Command } from "commander";
import { type DeploymentRow, listDeployments } from "../../client/deployments-query";
import { connectTemporal } from "../../client/temporal-client";
import { formatTable } from "../../lib/text-table";
import { type CliContext, EXIT_OK } from "../context";
import { formatMs } from "../render/status-view";

function table(rows: DeploymentRow[]): string {
  if (rows.length === 0) return "no deployments match";
  const header = ["ID", "SERVICE", "ENV", "VERSION", "PHASE", "OUTCOME", "STARTED", "DURATION"];
  const body = rows.map((r) => [
    r.workflowId,
    r.service,
    r.environment,
    r.version,
    r.phase,
    r.outcome,
    r.startTime.replace("T", " ").slice(0, 19),
    r.durationMs === null ? "running" : formatMs(r.durationMs),
  ]);
  return formatTable(
    header.map((h) => ({ header: h })),
    body,
  ).join("\n");
}

interface ListOptions {
  service?: string;
  env?: string;
  phase?: string;
  limit: string;
  json?: boolean;
}

async function run(ctx: CliContext, options: ListOptions, closedOnly: boolean): Promise<void> {
  const temporal = await connectTemporal();
  try {
    const rows = await listDeployments(
      temporal.client,
      { service: options.service, environment: options.env, phase: options.phase, closedOnly },
      Number(options.limit),
    );
    ctx.stdout(options.json ? JSON.stringify(rows, null, 2) : table(rows));
    ctx.exitCode = EXIT_OK;
  } finally {
    await temporal.close();
  }
}

function limitOption(value: string): string {
  if (!/^[1-9]\d*$/.test(value)) throw new Error(`--limit must be a positive whole number, got "${value}"`);
  return value;
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
