// What `shipshape stats` does (declared in cli/commands/stats.ts): delivery
// measures from Shipshape's own history.

import { deploymentRecord, listDeployments } from "../../client/deployments-query";
import { connectTemporal } from "../../client/temporal-client";
import { computeDeliveryStatsByService, type DeliveryStats } from "../../lib/delivery-stats";
import type { StatsOptions } from "../commands/stats";
import { type CliContext, EXIT_OK } from "../context";
import { formatMs } from "../render/status-view";

function pct(v: number | null): string {
  return v === null ? "–" : `${(v * 100).toFixed(1)}%`;
}

function describe(name: string, s: DeliveryStats): string[] {
  const lines = [
    `${name}: ${s.deployments} deployments (${s.deploymentsPerDay.toFixed(2)}/day over ${s.windowDays} d), ${s.finished} finished`,
    `  duration p50 ${formatMs(s.duration.p50Ms)}, p95 ${formatMs(s.duration.p95Ms)}`,
    `  change failure rate ${pct(s.changeFailureRate)}; mean time to recovery ${formatMs(s.meanTimeToRecoveryMs)} (${s.recoveries} recoveries)`,
  ];
  const steps = Object.entries(s.steps);
  if (steps.length) {
    lines.push("  per phase (p50 / p95):");
    for (const [phase, d] of steps)
      lines.push(`    ${phase.padEnd(22)} ${formatMs(d.p50Ms).padStart(7)} / ${formatMs(d.p95Ms)}`);
  }
  const phases = Object.entries(s.failuresByPhase);
  if (phases.length) lines.push(`  failures by phase: ${phases.map(([k, v]) => `${k} ×${v}`).join(", ")}`);
  const metrics = Object.entries(s.failuresByMetric);
  if (metrics.length) lines.push(`  failures by metric: ${metrics.map(([k, v]) => `${k} ×${v}`).join(", ")}`);
  return lines;
}

export async function stats(ctx: CliContext, options: StatsOptions): Promise<void> {
  const days = Number(options.days);
  const temporal = await connectTemporal();
  try {
    const rows = await listDeployments(
      temporal.client,
      { service: options.service, environment: options.env, sinceMs: Date.now() - days * 86_400_000 },
      1000,
    );
    const records = [];
    for (const row of rows) records.push(await deploymentRecord(temporal.client, row));
    const stats = computeDeliveryStatsByService(records, days);
    if (options.json) ctx.stdout(JSON.stringify(stats, null, 2));
    else {
      const out = describe("all services", stats.overall);
      for (const [service, s] of Object.entries(stats.services)) out.push("", ...describe(service, s));
      ctx.stdout(out.join("\n"));
    }
    ctx.exitCode = EXIT_OK;
  } finally {
    await temporal.close();
  }
}
