// What `shipshape list` and `shipshape history` do (declared in
// cli/commands/list.ts): deployments from Temporal visibility, filtered by the
// Shipshape search attributes.

import { type DeploymentRow, listDeployments } from "../../client/deployments-query";
import { connectTemporal } from "../../client/temporal-client";
import { formatTable } from "../../lib/text-table";
import type { ListOptions } from "../commands/list";
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

export async function showDeployments(
  ctx: CliContext,
  options: ListOptions,
  closedOnly: boolean,
): Promise<void> {
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
