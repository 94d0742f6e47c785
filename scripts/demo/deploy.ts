/**
 * One deployment of the demo: stage the version's migrations, start the
 * deployment through the client library (as `shipshape deploy` does), and
 * follow it live — with the numbers behind each step's verdict and behind a
 * failing one, as a compact table.
 */
import fs from "node:fs";
import path from "node:path";
import { sendDecision } from "../../client/decisions";
import { buildDeploymentInput } from "../../client/release-input";
import { signStart } from "../../client/signed-start";
import { startDeployment } from "../../client/start";
import { SHOP_ARTIFACT } from "../../dev/stack/shop-blue";
import type { AnalysisVerdict, Unit } from "../../lib/analysis/types";
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

/** The requester: alice signs every start (her key is in the demo's signers file). */
const REQUESTER = "alice";
/** The approver: four-eyes, so not the requester; bob signs with his own key. */
export const APPROVER = "bob";

/**
 * The version's release config, written beside its staged migrations, naming
 * the allowed-signers file (copied beside it: a config names only files in
 * its own folder tree) that the worker's policy pins.
 */
function writeSignedReleaseConfig(demo: DemoStack, adjust: DeployRequest["adjust"]): string {
  const releaseDir = path.dirname(demo.migrationsDir);
  fs.copyFileSync(demo.signing.signersFile, path.join(releaseDir, "allowed_signers"));
  return writeReleaseConfig(releaseDir, (raw) => {
    adjust?.(raw);
    const approvals = raw.environments[SCOPE.environment]?.approvals;
    if (approvals) approvals.signers = "./allowed_signers";
  });
}

export async function deployVersion(demo: DemoStack, req: DeployRequest): Promise<Followed> {
  stageMigrations(demo.migrationsDir, req.version);
  const { config } = releaseConfig(req.adjust);
  const configPath = writeSignedReleaseConfig(demo, req.adjust);
  // Deployed the way `shipshape deploy --key` does it: the config validated, the
  // version's migrations read into the input (the worker has no migrations
  // folder), the shop's artifact folder with its content digest, and the whole
  // start signed by the requester's key.
  const input = await buildDeploymentInput({
    configPath,
    service: SCOPE.service,
    environment: SCOPE.environment,
    version: req.version,
    artifact: SHOP_ARTIFACT,
    requestedBy: REQUESTER,
    reason: `demo: ${req.label}`,
  });
  const signed = await signStart(input, { configPath, keyFile: keyOf(demo, REQUESTER) });
  const handle = await startDeployment(demo.client, signed, { taskQueue: demo.stack.taskQueue });
  const ns = demo.stack.temporal.namespace;
  say(
    `workflow ${handle.workflowId}: ${demo.uiUrl}/namespaces/${ns}/workflows/${encodeURIComponent(handle.workflowId)}`,
  );
  const approver: Approver = {
    approve: async (gate) => {
      await sendDecision(handle, "approve", {
        gate,
        keyFile: keyOf(demo, APPROVER),
        reason: "demo: 1% and 10% looked healthy",
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

function keyOf(demo: DemoStack, who: string): string {
  const key = demo.signing.keys[who];
  if (!key) throw new Error(`the demo's signers file has no key for ${who}`);
  return key;
}
