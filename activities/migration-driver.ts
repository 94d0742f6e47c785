/**
 * MigrationDriver on the parallel-schema engine (lib/migrations), following
 * its README: expand = start every pending migration of the folder,
 * completing all but the last; contract = complete(last); compensation =
 * rollback(last). Every engine command is idempotent (a rerun after a crash
 * finishes or no-ops), so these are too.
 *
 * Engine errors that retrying cannot fix (VALIDATION, ANOTHER_ACTIVE,
 * INVALID_PHASE, DEFINITION_CHANGED, FAILED) become non-retryable
 * ApplicationFailures of type MigrationFailed; BUSY / LOCK_TIMEOUT stay
 * retryable.
 */
import { ApplicationFailure } from "@temporalio/activity";
import type { Progress, VersionEnvironmentRef } from "../lib/drivers/common";
import type { MigrationDriver } from "../lib/drivers/migration-driver";
import type { MigrationEngine } from "../lib/migrations/engine";
import { loadMigrationsDir } from "../lib/migrations/file-format";
import { planMigrations } from "../lib/migrations/plan";
import { MigrationError } from "../lib/migrations/types";

export const MIGRATION_FAILED = "MigrationFailed";

export interface EngineMigrationDriverOptions {
  /** The engine of the service's database (one per service+environment). */
  engineFor(ref: VersionEnvironmentRef): MigrationEngine;
  /** The version's migrations folder (release config `database.migrations`, resolved). */
  migrationsDirFor(ref: VersionEnvironmentRef): string;
}

async function mapped<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof MigrationError && !err.retryable) {
      throw ApplicationFailure.create({
        message: `${err.code}: ${err.message}`,
        type: MIGRATION_FAILED,
        nonRetryable: true,
        cause: err,
      });
    }
    throw err;
  }
}

export function engineMigrationDriver(options: EngineMigrationDriverOptions): MigrationDriver {
  return {
    expand: (ref: VersionEnvironmentRef, progress: Progress) =>
      mapped(async () => {
        const engine = options.engineFor(ref);
        const definitions = loadMigrationsDir(options.migrationsDirFor(ref)).map((f) => f.definition);
        const plan = planMigrations(definitions, await engine.status());
        if (plan.pending.length === 0) return { migration: null, versionSchema: null };
        let versionSchema: string | null = null;
        for (const [i, def] of plan.pending.entries()) {
          progress(`starting ${def.name} (${i + 1}/${plan.pending.length})`);
          versionSchema = (await engine.start(def)).versionSchema;
          if (i < plan.pending.length - 1) {
            progress(`completing ${def.name}`);
            await engine.complete(def.name);
          }
        }
        return { migration: plan.pending[plan.pending.length - 1]!.name, versionSchema };
      }),
    contract: (ref, migration, progress) =>
      mapped(async () => {
        progress(`completing ${migration}`);
        const r = await options.engineFor(ref).complete(migration);
        return { alreadyDone: r.alreadyDone };
      }),
    rollback: (ref, migration, progress) =>
      mapped(async () => {
        const engine = options.engineFor(ref);
        // null: expand never returned; roll back whatever is active (one deployment per service+env at a time).
        const name = migration ?? (await engine.status()).active?.name ?? null;
        if (!name) return { alreadyDone: true };
        const found = (await engine.status()).migrations.find((m) => m.name === name);
        if (!found || found.phase === "completed") return { alreadyDone: true };
        progress(`rolling back ${name}`);
        const r = await engine.rollback(name);
        return { alreadyDone: r.alreadyDone };
      }),
  };
}
