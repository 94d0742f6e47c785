/**
 * The end of the demo: a summary table of the deployments (outcome, duration,
 * time to recovery, whether each behaved as narrated) and `shipshape stats`
 * run against the demo's Temporal, as a user would run it.
 */
import { spawnSync } from "node:child_process";
import path from "node:path";
import { PROJECT_ROOT } from "../../lib/runtime/paths";
import { formatTable } from "../../lib/text-table";
import { SCOPE } from "./checks";
import type { DemoStack } from "./demo-stack";

export interface SummaryRow {
  deployment: string;
  expected: string;
  outcome: string;
  durationMs: number;
  recovery: string;
  ok: boolean;
}

export function summaryTable(rows: SummaryRow[]): string[] {
  return formatTable(
    [
      { header: "deployment" },
      { header: "expected" },
      { header: "outcome" },
      { header: "duration", align: "right" },
      { header: "time to recovery" },
      { header: "as narrated" },
    ],
    rows.map((r) => [
      r.deployment,
      r.expected,
      r.outcome,
      `${(r.durationMs / 1000).toFixed(1)} s`,
      r.recovery,
      r.ok ? "✓" : "✗",
    ]),
    { indent: "  ", rule: true },
  );
}

/** Runs `shipshape stats` for the demo's service and environment; false when it fails. */
export function printDeliveryStats(demo: DemoStack, say: (line: string) => void): boolean {
  say(`\n$ shipshape stats --service ${SCOPE.service} --env ${SCOPE.environment}`);
  const cli = spawnSync(
    process.execPath,
    [
      path.join(PROJECT_ROOT, "bin", "shipshape.cjs"),
      "stats",
      "--service",
      SCOPE.service,
      "--env",
      SCOPE.environment,
    ],
    {
      cwd: PROJECT_ROOT,
      encoding: "utf8",
      timeout: 60_000,
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: demo.stack.temporal.address,
        TEMPORAL_NAMESPACE: demo.stack.temporal.namespace,
        TEMPORAL_UI_URL: demo.uiUrl,
      },
    },
  );
  say((cli.stdout ?? "").trimEnd());
  if (cli.status === 0) return true;
  say(`shipshape stats exited ${cli.status}: ${(cli.stderr ?? "").trim()}`);
  return false;
}
