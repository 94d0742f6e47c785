import { ActivityKey, type MigrationBundle } from "../lib/deployment/types";
import type { DatabaseRef } from "../lib/drivers/migration-driver";
import type { DeploymentDeps } from "./deployment-deps";
import { withHeartbeat } from "./heartbeat";

/**
 * Parallel-schema migrations through the MigrationDriver (lib/migrations
 * engine in production). The engine is idempotent per migration name: a rerun
 * of start/complete/rollback after a crash finishes or no-ops. `database` is
 * the release config's section (its URL resolved by the driver on this
 * worker); without one (a release without a database) there is nothing to do.
 */
export function createMigrationActivities(deps: DeploymentDeps) {
  return {
    async expandSchema(input: {
      key: ActivityKey;
      database?: DatabaseRef;
      migrations?: MigrationBundle;
    }): Promise<{ migration: string | null; versionSchema: string | null }> {
      const key = ActivityKey.parse(input.key);
      const { database, migrations } = input;
      if (!database || !migrations) return { migration: null, versionSchema: null };
      return withHeartbeat((progress) => deps.migrations.expand(key, database, migrations, progress));
    },
    async contractSchema(input: {
      key: ActivityKey;
      database?: DatabaseRef;
      migration: string;
    }): Promise<{ alreadyDone: boolean }> {
      const key = ActivityKey.parse(input.key);
      const { database } = input;
      if (!database) return { alreadyDone: true };
      return withHeartbeat((progress) => deps.migrations.contract(key, database, input.migration, progress));
    },
    async rollbackSchema(input: {
      key: ActivityKey;
      database?: DatabaseRef;
      migration: string | null;
    }): Promise<{ alreadyDone: boolean }> {
      const key = ActivityKey.parse(input.key);
      const { database } = input;
      if (!database) return { alreadyDone: true };
      return withHeartbeat((progress) => deps.migrations.rollback(key, database, input.migration, progress));
    },
  };
}
