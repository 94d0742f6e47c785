import type { Pool } from "pg";
import { EnvironmentRef } from "../lib/deployment/skeleton-types";

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

export function createDatabaseActivities(deps: DatabaseDeps) {
  return {
    async recordDeployment(input: EnvironmentRef): Promise<{ inserted: boolean }> {
      return deps.records.record(EnvironmentRef.parse(input));
    },
    async deleteDeploymentRecord(input: EnvironmentRef): Promise<{ deleted: boolean }> {
      return deps.records.remove(EnvironmentRef.parse(input));
    },
  };
}
