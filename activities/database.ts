import { ApplicationFailure } from "@temporalio/activity";
import type { Pool } from "pg";
import { EnvironmentRef } from "../lib/deployment/skeleton-types";
import { ActivityKey, FAILURE_TYPES } from "../lib/deployment/types";
import { type DeploymentDeps, need } from "./deployment-deps";
import { withHeartbeat } from "./heartbeat";

/** Where the skeleton records deployments; keyed by deployment ID so retries insert nothing twice. */
export interface DeploymentRecordStore {
  record(ref: EnvironmentRef): Promise<{ inserted: boolean }>;
  remove(ref: EnvironmentRef): Promise<{ deleted: boolean }>;
}

export interface DatabaseDeps {
  records: DeploymentRecordStore;
}

const DDL = `
  CREATE TABLE IF NOT EXISTS shipshape_skeleton_deployments (
    deployment_id text PRIMARY KEY,
    service text NOT NULL,
    environment text NOT NULL,
    version text NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
  )`;

/** The real store, on the application's PostgreSQL. */
export function pgDeploymentRecords(pool: Pool): DeploymentRecordStore {
  return {
    async record(ref) {
      await pool.query(DDL);
      const r = await pool.query(
        `INSERT INTO shipshape_skeleton_deployments (deployment_id, service, environment, version)
         VALUES ($1, $2, $3, $4) ON CONFLICT (deployment_id) DO NOTHING`,
        [ref.deploymentId, ref.service, ref.environment, ref.version],
      );
      return { inserted: r.rowCount === 1 };
    },
    async remove(ref) {
      await pool.query(DDL);
      const r = await pool.query("DELETE FROM shipshape_skeleton_deployments WHERE deployment_id = $1", [
        ref.deploymentId,
      ]);
      return { deleted: (r.rowCount ?? 0) > 0 };
    },
  };
}

export function createDatabaseActivities(deps: Partial<DatabaseDeps>) {
  const records = (): DeploymentRecordStore => {
    if (!deps.records) {
      throw ApplicationFailure.nonRetryable(
        "this worker has no deployment record store",
        FAILURE_TYPES.driverNotConfigured,
      );
    }
    return deps.records;
  };
  return {
    async recordDeployment(input: EnvironmentRef): Promise<{ inserted: boolean }> {
      return records().record(EnvironmentRef.parse(input));
    },
    async deleteDeploymentRecord(input: EnvironmentRef): Promise<{ deleted: boolean }> {
      return records().remove(EnvironmentRef.parse(input));
    },
  };
}

// ---------------------------------------------------------------------------- DeploymentWorkflow

/**
 * Parallel-schema migrations through the MigrationDriver (lib/migrations
 * engine in production). The engine is idempotent per migration name: a rerun
 * of start/complete/rollback after a crash finishes or no-ops.
 */
export function createMigrationActivities(deps: Partial<DeploymentDeps>) {
  return {
    async expandSchema(input: {
      key: ActivityKey;
    }): Promise<{ migration: string | null; versionSchema: string | null }> {
      const key = ActivityKey.parse(input.key);
      return withHeartbeat((progress) => need(deps, "migrations").expand(key, progress));
    },
    async contractSchema(input: { key: ActivityKey; migration: string }): Promise<{ alreadyDone: boolean }> {
      const key = ActivityKey.parse(input.key);
      return withHeartbeat((progress) => need(deps, "migrations").contract(key, input.migration, progress));
    },
    async rollbackSchema(input: {
      key: ActivityKey;
      migration: string | null;
    }): Promise<{ alreadyDone: boolean }> {
      const key = ActivityKey.parse(input.key);
      return withHeartbeat((progress) => need(deps, "migrations").rollback(key, input.migration, progress));
    },
  };
}
