/**
 * Parallel-schema migration engine: the public API the CLI and the deployment
 * workflow's activities use.
 *
 *   const engine = createMigrationEngine({ connectionString, service: "shop", environment: "production" });
 *   await engine.start(migration, { owner: deploymentId });  // expand: before green gets traffic
 *   await engine.startTogether([m2, m3, m4], { owner });      // a release's several migrations: one attempt
 *   await engine.verify();            // gate before traffic shifts
 *   await engine.complete(name);      // contract: after promotion + watch + keep window
 *   await engine.rollback(name, { owner: deploymentId });    // saga compensation: only its own
 *
 * Every command takes a per-database advisory lock, records each finished
 * step, and is idempotent: rerunning it after a crash (or as a Temporal
 * activity retry) resumes where it stopped and returns the same result shape
 * with `alreadyDone: true` when there was nothing left to do.
 *
 * Each command lives in its own module under `commands/`; this one assembles
 * them over one shared context (pool, DDL policy, command lock).
 */
import { completeMigration } from "./commands/complete";
import { type CommandResult, createEngineContext, type EngineOptions } from "./commands/context";
import { purgeRolledBack } from "./commands/purge";
import { type RollbackOptions, rollbackMigration } from "./commands/rollback";
import { type StartOptions, startMigration, startTogether } from "./commands/start";
import { migrationStatus, type StatusResult } from "./commands/status";
import { verifyActiveMigration } from "./commands/verify";
import { bindRole, versionSchemaOf } from "./commands/version-selection";
import type { MigrationDefinition } from "./file-format";
import type { AsideRow } from "./state";
import type { VerifyResult } from "./verify";

export type { CommandResult, EngineHooks, EngineOptions } from "./commands/context";
export { prepare } from "./commands/prepare";
export type { RollbackOptions } from "./commands/rollback";
export type { StartOptions } from "./commands/start";
export { reconcileWithCatalog } from "./commands/start";
export type { MigrationSummary, StatusResult } from "./commands/status";
export type { MigrationDefinition } from "./file-format";
export { MigrationError } from "./types";
export type { VerifyResult } from "./verify";

export interface MigrationEngine {
  status(): Promise<StatusResult>;
  /** `owner`: the deployment starting it (recorded; only it may roll the attempt back as a compensation). */
  start(migration: MigrationDefinition | unknown, options?: StartOptions): Promise<CommandResult>;
  /**
   * Several migrations, in order, started as one attempt (one version schema, named after the last, over
   * all of them; the old version's schema untouched): complete and rollback then act on all of them.
   * One migration is `start`.
   */
  startTogether(
    migrations: ReadonlyArray<MigrationDefinition | unknown>,
    options?: StartOptions,
  ): Promise<CommandResult>;
  verify(name?: string): Promise<VerifyResult>;
  complete(name: string): Promise<CommandResult>;
  /** `owner`: refuse (NOT_OWNER) unless this deployment started the attempt. */
  rollback(name: string, options?: RollbackOptions): Promise<CommandResult>;
  purgeRolledBack(opts: { olderThanMs: number }): Promise<{ purged: AsideRow[] }>;
  /** Pins a role to a version (`ALTER ROLE … IN DATABASE … SET search_path`): survives PgBouncer transaction pooling. */
  bindRole(role: string, migrationName: string): Promise<{ role: string; searchPath: string }>;
  /** Version schema of a migration and what a client puts on its connection to use it. */
  versionSchema(migrationName: string): { schema: string; searchPath: string; pgOptions: string };
  close(): Promise<void>;
}

export function createMigrationEngine(options: EngineOptions): MigrationEngine {
  const engine = createEngineContext(options);
  return {
    start: (migration, options) => startMigration(engine, migration, options),
    startTogether: (migrations, options) => startTogether(engine, migrations, options),
    complete: (name) => completeMigration(engine, name),
    rollback: (name, options) => rollbackMigration(engine, name, options),
    verify: (name) => verifyActiveMigration(engine, name),
    status: () => migrationStatus(engine),
    purgeRolledBack: ({ olderThanMs }) => purgeRolledBack(engine, olderThanMs),
    bindRole: (role, migrationName) => bindRole(engine, role, migrationName),
    versionSchema: (migrationName) => versionSchemaOf(engine, migrationName),
    close: () => engine.pool.end(),
  };
}
