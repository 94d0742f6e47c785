/**
 * The HTML report of one deployment run (`shipshape report`, the demo): its
 * history fetched and decoded, the report model extracted from it
 * (lib/report/extract.ts), rendered to a self-contained page (lib/report/html.ts).
 */
import fs from "node:fs";
import type { Client } from "@temporalio/client";
import { chartAssets } from "../lib/report/assets";
import { extractReport, type StatusPart } from "../lib/report/extract";
import { renderReportHtml } from "../lib/report/html";
import type { ReportModel } from "../lib/report/model";
import { fetchDecodedDeployment } from "./deployment-history";
import { tryStatus } from "./deployments-query";

/** How long a running deployment's status query may take before the report does without it. */
const STATUS_WAIT_MS = 5_000;

async function statusWithin(client: Client, workflowId: string, runId: string): Promise<StatusPart | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), STATUS_WAIT_MS);
  });
  try {
    return await Promise.race([tryStatus(client, workflowId, runId), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The report model of a deployment: the run (the latest without `runId`) and
 * the runs it continued from during a long bake. A finished run's
 * history holds everything (its result lists decisions and compensations); a
 * running one's decisions and compensations come from the `status` query
 * when a worker answers it in time.
 */
export async function deploymentReport(
  client: Client,
  workflowId: string,
  runId?: string,
): Promise<ReportModel> {
  const history = await fetchDecodedDeployment(client, workflowId, runId);
  const running = !history.events.some((e) => e.type === "completed" || e.type === "closed");
  const status = running ? await statusWithin(client, workflowId, history.runId) : null;
  return extractReport(history, status ? { status } : {});
}

/** Writes the report page to `file` and returns the model it shows. */
export async function writeDeploymentReport(
  client: Client,
  file: string,
  workflowId: string,
  runId?: string,
): Promise<ReportModel> {
  const model = await deploymentReport(client, workflowId, runId);
  fs.writeFileSync(file, renderReportHtml(model, chartAssets(), { generatedAtMs: Date.now() }));
  return model;
}
