/**
 * The release's migrations as a deployment carries them: the files of the
 * config's `database.migrations` folder (relative to the config file), read
 * at deploy time, checked, and put in the deployment's input with their
 * digests — so the worker needs no migrations folder, and the run is the
 * same whenever it is replayed.
 */
import fs from "node:fs";
import path from "node:path";
import { migrationBundleOf } from "../lib/deployment/migration-bundle";
import type { MigrationBundle } from "../lib/deployment/types";
import { loadMigrationsDir } from "../lib/migrations/file-format";

/**
 * Temporal refuses payloads over 2 MiB (and warns above 512 KiB); the config
 * and the rest of the input need room too.
 */
export const MAX_MIGRATION_BYTES = 512 * 1024;

export class MigrationBundleError extends Error {
  override name = "MigrationBundleError";
}

/** Reads and validates a migrations folder (MigrationFileError with file:line:column for a bad file). */
export function readMigrationBundle(dir: string): MigrationBundle {
  const loaded = loadMigrationsDir(dir); // every file parsed: a typo stops the deploy here
  const bundle = migrationBundleOf(
    loaded.map(({ file }) => ({ file: path.basename(file), content: fs.readFileSync(file, "utf8") })),
  );
  const { files } = bundle;
  const bytes = files.reduce((n, f) => n + Buffer.byteLength(f.content), 0);
  if (bytes > MAX_MIGRATION_BYTES) {
    const largest = [...files].sort((a, b) => b.content.length - a.content.length).slice(0, 3);
    throw new MigrationBundleError(
      `the migrations in ${dir} are ${Math.ceil(bytes / 1024)} KiB; a deployment carries at most ` +
        `${MAX_MIGRATION_BYTES / 1024} KiB of migrations (largest: ${largest.map((f) => `${f.file} ${Math.ceil(Buffer.byteLength(f.content) / 1024)} KiB`).join(", ")}). ` +
        "Keep data loads out of migrations (load them with psql or a job, not with raw_sql in a migration file)",
    );
  }
  return bundle;
}
