/**
 * What a promoted deployment recorded, read back from Temporal (visibility
 * for which one, its history for what it carried and did): the release config
 * and migrations of its start input, the artifact digest its preflight staged,
 * the instances its provisionGreen started (users were moved to them at
 * promotion). Drift (`shipshape drift`), the promotion path
 * (`requires.promotedIn`) and `shipshape parity` read the same record.
 */
import type { Client } from "@temporalio/client";
import type { ReleaseConfig } from "../lib/config/schema";
import type { MigrationBundle } from "../lib/deployment/types";
import { fetchDecodedDeployment } from "./deployment-history";
import { type DeploymentRow, listDeployments } from "./deployments-query";

export interface PromotedDeployment {
  row: DeploymentRow;
  version: string;
  config: ReleaseConfig;
  /** The staged digest (preflight), else the requested one (memo); null when neither was recorded. */
  artifactDigest: string | null;
  migrations: MigrationBundle | null;
  /** The instances users were moved to (null: the history does not say, e.g. a fake target). */
  instances: string[] | null;
}

/**
 * Promoted deployments of a service in an environment, newest first (at most
 * `limit` runs read). A run counts once its outcome search attribute says
 * promoted, even while it still sends its last notifications before it closes.
 */
export async function promotedRows(
  client: Client,
  service: string,
  environment: string,
  limit = 200,
): Promise<DeploymentRow[]> {
  const rows = await listDeployments(client, { service, environment }, limit);
  return rows.filter((r) => r.outcome === "promoted");
}

/** The record of one promoted deployment (its whole chain of runs). */
export async function promotedDeployment(client: Client, row: DeploymentRow): Promise<PromotedDeployment> {
  const history = await fetchDecodedDeployment(client, row.workflowId, row.runId);
  const started = history.events.find((e) => e.type === "started");
  const input = (started?.type === "started" ? started.input : undefined) as
    | { config?: ReleaseConfig; version?: string; artifactDigest?: string; migrations?: MigrationBundle }
    | undefined;
  if (!input?.config) throw new Error(`${row.workflowId} (run ${row.runId}) has no readable start input`);
  const scheduled = new Map<number, string>();
  let stagedDigest: string | null = null;
  let instances: string[] | null = null;
  for (const e of history.events) {
    if (e.type === "activity-scheduled") scheduled.set(e.id, e.activity);
    if (e.type !== "activity-completed") continue;
    const activity = scheduled.get(e.scheduledId);
    const result = e.result as { artifactDigest?: unknown; instances?: unknown } | undefined;
    if (activity === "preflightDeployment" && typeof result?.artifactDigest === "string")
      stagedDigest = result.artifactDigest;
    if (activity === "provisionGreen" && Array.isArray(result?.instances))
      instances = result.instances.filter((i): i is string => typeof i === "string");
  }
  return {
    row,
    version: input.version ?? row.version,
    config: input.config,
    artifactDigest: stagedDigest ?? input.artifactDigest ?? row.artifactDigest,
    migrations: input.migrations ?? null,
    instances,
  };
}

/** The last promoted deployment of a service in an environment, or null when none was. */
export async function lastPromoted(
  client: Client,
  service: string,
  environment: string,
): Promise<PromotedDeployment | null> {
  const row = (await promotedRows(client, service, environment))[0];
  return row ? promotedDeployment(client, row) : null;
}
