/** How a client of one version reaches that version's schema of views. */
import { connectionSettings, versionSchemaName } from "../versioned-schema";
import { type EngineContext, findStartedMigration } from "./context";

/**
 * Pins `role` to the migration's version schema as a per-database role
 * default: the server applies it whenever a backend starts, so it survives
 * PgBouncer transaction pooling where a session `SET` would not.
 */
export async function bindRole(
  engine: EngineContext,
  role: string,
  migrationName: string,
): Promise<{ role: string; searchPath: string }> {
  const row = await findStartedMigration(engine, migrationName);
  await engine.pool.query(
    `DO $$ BEGIN EXECUTE format('ALTER ROLE %I IN DATABASE %I SET search_path = %I', $a$${role.replace(/\$/g, "")}$a$, current_database(), $b$${row.versionSchema.replace(/\$/g, "")}$b$); END $$`,
  );
  return { role, searchPath: row.versionSchema };
}

/** The schema a start of `migrationName` by this engine creates (a started one: its row's versionSchema). */
export function versionSchemaOf(
  engine: EngineContext,
  migrationName: string,
): { schema: string; searchPath: string; pgOptions: string } {
  const schema = versionSchemaName({ ...engine.scope, migration: migrationName });
  return { schema, ...connectionSettings(schema) };
}
