import type { MigrationBundle } from "../deployment/types";
import type { Progress, VersionEnvironmentRef } from "./common";

/**
 * The database a deployment migrates: `url` as the release config writes it
 * (`${env:NAME}` is resolved on the worker, inside the activity, and never
 * leaves it).
 */
export interface DatabaseRef {
  url: string;
}

/**
 * Parallel-schema migrations of the service's database (lib/migrations engine
 * behind it). There is one engine per (service, environment, database), and
 * every migration records the deployment that started it
 * (`ref.deploymentId`): a compensation only ever undoes its own deployment's
 * migrations, never another service's, another environment's or a stale one.
 */
export interface MigrationDriver {
  /**
   * Expand: start the release's pending migrations (no-op when there is none
   * or they already started for this deployment), completing none of them:
   * blue's version schema stays, and no drop runs, while blue can get
   * traffic. Returns the last migration (its name stands for all of them in
   * contract and rollback) and green's version schema, or nulls when there
   * was nothing to do.
   */
  expand(
    ref: VersionEnvironmentRef,
    database: DatabaseRef,
    migrations: MigrationBundle,
    progress: Progress,
  ): Promise<{ migration: string | null; versionSchema: string | null }>;
  /**
   * Contract (finalize only): complete the migration and every one started
   * with it, oldest first (old schema version removed, drops run). Idempotent.
   */
  contract(
    ref: VersionEnvironmentRef,
    database: DatabaseRef,
    migration: string,
    progress: Progress,
  ): Promise<{ alreadyDone: boolean }>;
  /**
   * Roll back the expansion — every migration the release started, newest
   * first (data written by the new version is renamed aside, never
   * dropped). Idempotent. `migration` null: whatever this deployment
   * started, if anything — the compensation is registered before expand
   * returns, so a crash mid-expand is undone too. A migration another
   * deployment started is never touched.
   */
  rollback(
    ref: VersionEnvironmentRef,
    database: DatabaseRef,
    migration: string | null,
    progress: Progress,
  ): Promise<{ alreadyDone: boolean }>;
}
