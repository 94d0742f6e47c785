import type { Progress, VersionEnvironmentRef } from "./common";

/** Parallel-schema migrations of the service's database (lib/migrations engine behind it). */
export interface MigrationDriver {
  /**
   * Expand: start the version's pending migration (no-op when there is none
   * or it already started). Returns the migration name, or null when nothing to do.
   */
  expand(
    ref: VersionEnvironmentRef,
    progress: Progress,
  ): Promise<{ migration: string | null; versionSchema: string | null }>;
  /** Contract: complete the migration (old schema version removed). Idempotent. */
  contract(
    ref: VersionEnvironmentRef,
    migration: string,
    progress: Progress,
  ): Promise<{ alreadyDone: boolean }>;
  /**
   * Roll back the expansion (data written by the new version is renamed aside,
   * never dropped). Idempotent. `migration` null: whatever this deployment
   * (ref.deploymentId / ref.version) started, if anything — the compensation is
   * registered before expand returns, so a crash mid-expand is undone too.
   */
  rollback(
    ref: VersionEnvironmentRef,
    migration: string | null,
    progress: Progress,
  ): Promise<{ alreadyDone: boolean }>;
}
