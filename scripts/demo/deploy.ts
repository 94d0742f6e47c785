/**
 * One deployment of the demo: stage the version's migrations, start the
 * deployment through the client library (as `shipshape deploy` does), and
 * follow it live — with the numbers behind each step's verdict and behind a
 * failing one, as a compact table.
 */
import fs from "node:fs";
import path from "node:path";
import { buildDeploymentInput } from "../../client/release-input";
import { startDeployment } from "../../client/start";
import { SHOP_ARTIFACT } from "../../dev/stack/shop-blue";
import type { AnalysisVerdict, Unit } from "../../lib/analysis/types";
import { approveUpdate } from "../../workflows/deployment/messages";
import type { AnalysisInterval, DeploymentStatus } from "../../workflows/deployment/state";
import { SCOPE } from "./checks";
import { metricUnits, type RawConfig, releaseConfig, writeReleaseConfig } from "./config";
import type { DemoStack } from "./demo-stack";
import { type Followed, followDeployment } from "./follow";
import { stageMigrations } from "./migrations";
import { verdictTable } from "./verdict-table";

export interface Approver {
  approve(gate: string): Promise<void>;
}

export interface DeployRequest {
  version: string;
  label: string;
  adjust?: (raw: RawConfig) => void;
  onStatus?: (s: DeploymentStatus, approver: Approver) => Promise<void>;
}

const say = (line: string) => console.log(`  ${line}`);

/** Tables for the verdicts that decide something: a step passed, or the analysis failed. */
function narrateVerdict(units: Map<string, Unit>) {
  return (v: AnalysisVerdict, latest: AnalysisInterval | undefined) => {
    const decides = v.decision === "fail" || v.line.startsWith("step passed");
    if (!decides || !latest) return;
    for (const line of verdictTable(latest, units)) console.log(line);
    if (v.decision === "fail") say(`✗ tripped: ${v.metric ?? "analysis"} — ${v.line}`);
  };
}

/**
 * SHIPSHAPE_DEMO_ANALYSIS_LOG=<file>: every interval's per-metric results are
 * appended there as JSON lines — the numbers to check the config's limits
 * against over many runs.
 */
function logInterval(version: string, interval: AnalysisInterval): void {
  const file = process.env.SHIPSHAPE_DEMO_ANALYSIS_LOG;
  if (file) fs.appendFileSync(file, `${JSON.stringify({ version, ...interval })}\n`);
}

export async function deployVersion(demo: DemoStack, req: DeployRequest): Promise<Followed> {
  stageMigrations(demo.migrationsDir, req.version);
  const { config } = releaseConfig(req.adjust);
  // Deployed the way `shipshape deploy` does it: the config validated, the version's
  // migrations read into the input (the worker has no migrations folder), the shop's
  // artifact folder with its content digest.
  const input = await buildDeploymentInput({
    configPath: writeReleaseConfig(path.dirname(demo.migrationsDir), req.adjust),
    service: SCOPE.service,
    environment: SCOPE.environment,
    version: req.version,
    artifact: SHOP_ARTIFACT,
    requestedBy: "demo",
    reason: `demo: ${req.label}`,
  });
  const handle = await startDeployment(demo.client, input, { taskQueue: demo.stack.taskQueue });
  const ns = demo.stack.temporal.namespace;
  say(
    `workflow ${handle.workflowId}: ${demo.uiUrl}/namespaces/${ns}/workflows/${encodeURIComponent(handle.workflowId)}`,
  );
  const approver: Approver = {
    approve: async (gate) => {
      await handle.executeUpdate(approveUpdate, {
        args: [{ gate, by: "alice", reason: "demo: 1% and 10% looked healthy" }],
      });
    },
  };
  const onStatus = req.onStatus;
  return followDeployment(handle, {
    log: say,
    timeoutMs: 180_000,
    onStatus: onStatus ? (s) => onStatus(s, approver) : undefined,
    onVerdict: narrateVerdict(metricUnits(config)),
    onInterval: (interval) => logInterval(req.version, interval),
  });
}
