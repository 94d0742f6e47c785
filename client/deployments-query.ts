import type { Client, WorkflowExecutionInfo } from "@temporalio/client";
import type { DeploymentRecord } from "../lib/delivery-stats";
import { CHAIN_MEMO } from "../lib/deployment/continuation";
import type { DeploymentResult } from "../lib/deployment/types";
import type { DeploymentStatus } from "../workflows/deployment/state";
import { deploymentResult } from "./deployment-result";

export const DEPLOYMENT_WORKFLOW_TYPE = "deploymentWorkflow";

export interface DeploymentFilter {
  service?: string;
  environment?: string;
  phase?: string;
  closedOnly?: boolean;
  sinceMs?: number;
}

function quote(v: string): string {
  return `'${v.replace(/'/g, "")}'`;
}

/**
 * A visibility query over deployment workflows, filtered by the Shipshape
 * search attributes. A deployment that baked long is a chain of runs
 * (workflows/deployment/continuation.ts): only its latest run is listed, and
 * it stands for the whole deployment (toRow).
 */
export function visibilityQuery(f: DeploymentFilter): string {
  const parts = [`WorkflowType = ${quote(DEPLOYMENT_WORKFLOW_TYPE)}`, `ExecutionStatus != 'ContinuedAsNew'`];
  if (f.service) parts.push(`ShipshapeService = ${quote(f.service)}`);
  if (f.environment) parts.push(`ShipshapeEnvironment = ${quote(f.environment)}`);
  if (f.phase) parts.push(`ShipshapePhase = ${quote(f.phase)}`);
  if (f.closedOnly) parts.push(`ExecutionStatus != 'Running'`);
  if (f.sinceMs) parts.push(`StartTime >= '${new Date(f.sinceMs).toISOString()}'`);
  return parts.join(" AND ");
}

export interface DeploymentRow {
  workflowId: string;
  runId: string;
  service: string;
  environment: string;
  version: string;
  phase: string;
  outcome: string;
  status: string;
  startTime: string;
  closeTime: string | null;
  durationMs: number | null;
  /** What was deployed and its digest (the start memo; absent on deployments started before it was kept). */
  artifact: string | null;
  artifactDigest: string | null;
  /** Runs of the deployment (more than one when it continued as new during a long bake). */
  runs: number;
}

function sa(info: WorkflowExecutionInfo, key: string): string {
  const v = info.searchAttributes?.[key];
  return Array.isArray(v) && v.length ? String(v[0]) : "";
}

function memoNumber(info: WorkflowExecutionInfo, key: string): number | null {
  const v = info.memo?.[key];
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

/** A run as the deployment it belongs to: a continued run starts when its deployment's first run did. */
export function toRow(info: WorkflowExecutionInfo): DeploymentRow {
  const start = memoNumber(info, CHAIN_MEMO.startedAtMs) ?? info.startTime.getTime();
  const close = info.closeTime?.getTime() ?? null;
  return {
    workflowId: info.workflowId,
    runId: info.runId,
    service: sa(info, "ShipshapeService"),
    environment: sa(info, "ShipshapeEnvironment"),
    version: sa(info, "ShipshapeVersion"),
    phase: sa(info, "ShipshapePhase"),
    outcome:
      sa(info, "ShipshapeOutcome") ||
      (info.status.name === "RUNNING" ? "running" : info.status.name.toLowerCase()),
    status: info.status.name,
    startTime: new Date(start).toISOString(),
    closeTime: info.closeTime?.toISOString() ?? null,
    durationMs: close === null ? null : close - start,
    artifact: typeof info.memo?.artifact === "string" ? info.memo.artifact : null,
    artifactDigest: typeof info.memo?.artifactDigest === "string" ? info.memo.artifactDigest : null,
    runs: memoNumber(info, CHAIN_MEMO.runs) ?? 1,
  };
}

export async function listDeployments(
  client: Client,
  f: DeploymentFilter,
  limit: number,
): Promise<DeploymentRow[]> {
  const rows: DeploymentRow[] = [];
  for await (const info of client.workflow.list({ query: visibilityQuery(f) })) {
    const row = toRow(info);
    // The query selects runs by their own start; a long deployment started before that.
    if (f.sinceMs && Date.parse(row.startTime) < f.sinceMs) continue;
    rows.push(row);
    if (rows.length >= limit) break;
  }
  return rows;
}

/** Status of a deployment, or null when no worker can answer the query right now. */
export async function tryStatus(
  client: Client,
  workflowId: string,
  runId?: string,
): Promise<DeploymentStatus | null> {
  try {
    return await client.workflow.getHandle(workflowId, runId).query<DeploymentStatus>("status");
  } catch {
    return null;
  }
}

/**
 * One history record for `stats`: visibility gives times and outcome; the
 * result (read from the close event, no worker needed) gives the decisions and
 * compensations; the status query (needs a worker) adds per-phase durations.
 */
export async function deploymentRecord(client: Client, row: DeploymentRow): Promise<DeploymentRecord> {
  const outcome = (["promoted", "rolled-back", "needs-attention"] as const).find((o) => o === row.outcome);
  const record: DeploymentRecord = {
    workflowId: row.workflowId,
    service: row.service,
    environment: row.environment,
    version: row.version,
    startMs: Date.parse(row.startTime),
    endMs: row.closeTime ? Date.parse(row.closeTime) : null,
    outcome: row.status === "RUNNING" ? "running" : (outcome ?? "other"),
  };
  if (row.status === "RUNNING") return record;
  const status = await tryStatus(client, row.workflowId, row.runId);
  if (status) {
    const steps: Record<string, number> = {};
    for (const p of status.phases) {
      // Terminal phases are instants, not steps anyone waits on.
      if (p.durationMs == null || p.phase === "promoted" || p.phase === "rolled-back") continue;
      steps[p.phase] = (steps[p.phase] ?? 0) + p.durationMs;
    }
    record.steps = steps;
    const rollingBack = status.phases.find((p) => p.phase === "rolling-back");
    if (rollingBack) {
      const idx = status.phases.indexOf(rollingBack);
      record.failurePhase = status.phases[idx - 1]?.phase ?? null;
      record.failedAtMs = rollingBack.startedAtMs;
      const traffic = status.compensations.find((c) => c.kind === "traffic" && c.status === "done");
      record.trafficRestoredAtMs = traffic?.endedAtMs ?? null;
      const failedVerdict = [...status.analysis.decisions].reverse().find((d) => d.decision === "fail");
      record.failureMetric = failedVerdict?.metric ?? null;
    }
  } else {
    try {
      const result = (await deploymentResult(
        client.workflow.getHandle(row.workflowId, row.runId),
      )) as DeploymentResult;
      record.failurePhase = result.outcome === "promoted" ? null : "unknown";
    } catch {
      // failed/terminated workflows have no result; visibility data is all we have
    }
  }
  return record;
}
