import type { Pool } from "pg";
import { EnvironmentRef } from "../lib/deployment/skeleton-types";

export interface DatabaseDeps {
  pool: Pool;
}

const DDL = `
  CREATE TABLE IF NOT EXISTS shipshape_skeleton_deployments (
    deployment_id text PRIMARY KEY,
    service text NOT NULL,
    environment text NOT NULL,
    version text NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
  )`;

/**
 * The skeleton's database touch: record the deployment, keyed by deployment ID
 * so a retry after a crash inserts nothing twice.
 */
export function createDatabaseActivities(deps: DatabaseDeps) {
  return {
    async recordDeployment(input: EnvironmentRef): Promise<{ inserted: boolean }> {
      const ref = EnvironmentRef.parse(input);
      await deps.pool.query(DDL);
      const r = await deps.pool.query(
        `INSERT INTO shipshape_skeleton_deployments (deployment_id, service, environment, version)
         VALUES ($1, $2, $3, $4) ON CONFLICT (deployment_id) DO NOTHING`,
        [ref.deploymentId, ref.service, ref.environment, ref.version],
      );
      return { inserted: r.rowCount === 1 };
    },
    async deleteDeploymentRecord(input: EnvironmentRef): Promise<{ deleted: boolean }> {
      const ref = EnvironmentRef.parse(input);
      await deps.pool.query(DDL);
      const r = await deps.pool.query("DELETE FROM shipshape_skeleton_deployments WHERE deployment_id = $1", [
        ref.deploymentId,
      ]);
      return { deleted: (r.rowCount ?? 0) > 0 };
    },
  };
}
