// What `shipshape status [<deployment>]` and `shipshape watch <deployment>` do
// (declared in cli/commands/status.ts); `deploy --watch` watches through here too.

import type { Client, WorkflowHandle } from "@temporalio/client";
import { deploymentResult } from "../../client/deployment-result";
import { listDeployments, tryStatus } from "../../client/deployments-query";
import { connectTemporal, webUiLink } from "../../client/temporal-client";
import { pushTo } from "../../lib/delivery-stats";
import type { StatusOptions, WatchOptions } from "../commands/status";
import { type CliContext, EXIT_FAILED, EXIT_OK } from "../context";
import { resolveDeployment } from "../deployment-ref";
import { renderStatus } from "../render/status-view";

/** Median duration per phase over the service's recent finished deployments (needs a worker for the query). */
export async function typicalPhaseDurations(
  client: Client,
  service: string,
  environment: string,
): Promise<Record<string, number>> {
  const rows = await listDeployments(client, { service, environment, closedOnly: true }, 20);
  const samples: Record<string, number[]> = {};
  for (const row of rows) {
    const s = await tryStatus(client, row.workflowId, row.runId);
    for (const p of s?.phases ?? []) if (p.durationMs != null) pushTo(samples, p.phase, p.durationMs);
  }
  const typical: Record<string, number> = {};
  for (const [phase, values] of Object.entries(samples)) {
    values.sort((a, b) => a - b);
    typical[phase] = values[Math.floor((values.length - 1) / 2)] ?? 0;
  }
  return typical;
}

export function outcomeExitCode(outcome: string | null | undefined): number {
  return outcome === "promoted" ? EXIT_OK : EXIT_FAILED;
}

async function closedOutcome(handle: WorkflowHandle): Promise<string | null> {
  const d = await handle.describe();
  if (d.status.name === "RUNNING") return null;
  try {
    const result = (await deploymentResult(handle)) as { outcome?: string };
    return result.outcome ?? d.status.name.toLowerCase();
  } catch {
    return d.status.name.toLowerCase();
  }
}

/** How long a new run (a start, a continue-as-new) may take to answer its first query. */
const NEW_RUN_GRACE_MS = 10_000;

async function justStarted(client: Client, workflowId: string): Promise<boolean> {
  try {
    // The latest run of the chain (no run id), not necessarily the one watch started with.
    const d = await client.workflow.getHandle(workflowId).describe();
    return Date.now() - d.startTime.getTime() < NEW_RUN_GRACE_MS;
  } catch {
    return false;
  }
}

/**
 * Polls the status query and redraws. It is only a client: when no worker can
 * answer (worker restarting) it says so and keeps waiting; the deployment
 * itself is durable in Temporal.
 */
export async function watchDeployment(
  ctx: CliContext,
  client: Client,
  handle: WorkflowHandle,
  namespace: string,
  options: { tty: boolean; intervalMs?: number; json?: boolean },
): Promise<number> {
  const first = await tryStatus(client, handle.workflowId);
  const typical = first ? await typicalPhaseDurations(client, first.service, first.environment) : {};
  const link = webUiLink(namespace, handle.workflowId);
  let drawn = 0;
  let lastSignature = "";
  let workerMissingSaid = false;
  for (;;) {
    // The handle names no run: queries go to the latest run, so a deployment
    // that continues as new during a long bake is followed into its next run.
    const status = await tryStatus(client, handle.workflowId);
    const outcome = status?.outcome ?? (await closedOutcome(handle));
    if (status) {
      workerMissingSaid = false;
      const lines = renderStatus(status, { nowMs: Date.now(), typicalMs: typical, uiLink: link });
      if (options.json) {
        const signature = JSON.stringify([
          status.phase,
          status.step,
          status.weights,
          status.outcome,
          status.analysis.verdicts.length,
          status.compensations.map((c) => c.status),
          status.pendingApprovals.length,
          status.paused,
        ]);
        if (signature !== lastSignature) ctx.stdout(JSON.stringify(status));
        lastSignature = signature;
      } else if (options.tty) {
        if (drawn > 0) process.stdout.write(`\x1b[${drawn}A\x1b[0J`);
        process.stdout.write(`${lines.join("\n")}\n`);
        drawn = lines.length;
      } else {
        const signature = JSON.stringify([
          status.phase,
          status.step,
          status.weights,
          status.outcome,
          status.analysis.verdicts.at(-1)?.line,
          status.compensations.map((c) => c.status),
          status.pendingApprovals.length,
          status.paused,
          status.needsAttention?.compensation,
        ]);
        if (signature !== lastSignature) {
          ctx.stdout(`--- ${new Date().toISOString()}\n${lines.join("\n")}`);
          lastSignature = signature;
        }
      }
    } else if (!outcome && !workerMissingSaid && !(await justStarted(client, handle.workflowId))) {
      // A run that has just started (or continued as new) answers after its first task: not news.
      ctx.stderr(
        "… no worker is answering right now (restarting?); the deployment is durable — still watching",
      );
      workerMissingSaid = true;
      drawn = 0;
    }
    if (outcome) {
      if (!options.json) ctx.stdout(`deployment ended: ${outcome}`);
      return outcomeExitCode(outcome);
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 1000));
  }
}

export async function showStatus(
  ctx: CliContext,
  ref: string | undefined,
  options: StatusOptions,
): Promise<void> {
  const temporal = await connectTemporal();
  try {
    if (!ref) {
      const rows = (await listDeployments(temporal.client, {}, 50)).filter((r) => r.status === "RUNNING");
      const statuses = await Promise.all(rows.map((r) => tryStatus(temporal.client, r.workflowId, r.runId)));
      if (options.json) ctx.stdout(JSON.stringify(statuses.filter(Boolean), null, 2));
      else if (rows.length === 0) ctx.stdout("no deployment is running");
      else
        rows.forEach((r, i) => {
          const s = statuses[i];
          ctx.stdout(
            `${r.workflowId}  ${r.service}/${r.environment} ${r.version}  ${s ? `${s.phase}, blue ${s.weights.blue}% / green ${s.weights.green}%` : r.phase}`,
          );
        });
      ctx.exitCode = EXIT_OK;
      return;
    }
    const handle = await resolveDeployment(temporal.client, ref);
    const status = await tryStatus(temporal.client, handle.workflowId);
    if (!status) {
      const d = await handle.describe();
      ctx.stdout(
        options.json
          ? JSON.stringify({
              workflowId: handle.workflowId,
              status: d.status.name,
              note: "no worker answered the status query",
            })
          : `${handle.workflowId}: ${d.status.name} (no worker answered the status query; start one with \`npm run dev\`)`,
      );
      ctx.exitCode = EXIT_OK;
      return;
    }
    ctx.stdout(
      options.json
        ? JSON.stringify(status, null, 2)
        : renderStatus(status, {
            nowMs: Date.now(),
            uiLink: webUiLink(temporal.namespace, handle.workflowId),
          }).join("\n"),
    );
    ctx.exitCode = EXIT_OK;
  } finally {
    await temporal.close();
  }
}

export async function watch(ctx: CliContext, ref: string, options: WatchOptions): Promise<void> {
  const temporal = await connectTemporal();
  try {
    const handle = await resolveDeployment(temporal.client, ref);
    ctx.exitCode = await watchDeployment(ctx, temporal.client, handle, temporal.namespace, {
      tty: Boolean(process.stdout.isTTY) && !options.json,
      intervalMs: Number(options.interval),
      json: options.json,
    });
  } finally {
    await temporal.close();
  }
}
