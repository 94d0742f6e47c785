/**
 * One schema of views per version.
 *
 * Naming: `<service>_<environment>_<migration name>` lower-cased to [a-z0-9_]
 * and cut, then a hash of the exact service, environment and migration name
 * (`shop_prod_0002_rename_price_3f…`, at most 63 bytes; lib/resource-names.ts),
 * so `shop`/`prod_eu` and `shop_prod`/`eu`, or `0002.x` and `0002_x`, get
 * schemas of their own. The name is derived from the migration, not from an
 * app version, because the migration is what defines the shape the app sees,
 * and it is stable across retries. Each migration's row records the name it
 * was started with, and every later command (complete, rollback, contract of
 * the previous schema) uses the recorded one: schemas made under the earlier
 * naming (`<service>_<environment>_<migration>` without a hash) keep working.
 *
 * How a client selects its version (documented in lib/migrations/README.md):
 *  - Recommended (works through PgBouncer transaction pooling): one database
 *    role per app version whose role-level default points at the version
 *    schema: `ALTER ROLE shop_v2 IN DATABASE shop SET search_path = shop_0002_…`
 *    (`engine.bindRole`). PgBouncer keys its pools by (database, user), and the
 *    server applies the role default when the backend starts, so no
 *    session `SET` has to survive pooling.
 *  - Direct connections: `options=-c search_path=<schema>` in the URL, or
 *    `SET search_path` per session.
 * Unlike pgroll/Reshape, correctness never depends on search_path matching a
 * name exactly: dual-write triggers find out which version wrote a row by
 * looking at which columns the write changed, not at the session's
 * search_path. A search_path of `shop_0002_x, public` or fully qualified
 * names (`shop_0002_x.products`) work the same.
 */
import type { PoolClient } from "pg";
import { versionSchemaName as schemaNameOf } from "../resource-names";
import { ident, literal, qualified } from "./sql";
import { MigrationError, type SchemaModel } from "./types";

/**
 * Whose version schema it is: the exact service, environment and migration
 * name. Names carry a hash of these, but schemas made under the earlier
 * naming could be shared by two owners (`shop_prod`/`eu` and `shop`/`prod_eu`),
 * and anyone may create a schema of any name, so the engine marks each schema
 * it creates with its owner and never replaces or drops a schema that does
 * not carry its mark.
 */
export interface VersionSchemaOwner {
  service: string;
  environment: string;
  migration: string;
}

const MARK = "shipshape version schema over ";
const OWNER = "; owner ";

function markOf(baseSchema: string, owner: VersionSchemaOwner): string {
  return `${MARK}${baseSchema}${OWNER}${JSON.stringify([owner.service, owner.environment, owner.migration])}`;
}

/**
 * Whether `schema` may be (re)created or dropped by `owner`: it does not
 * exist, or it carries the engine's mark and the same owner. Schemas marked
 * before marks named their owner (`… over <base>` alone) count as the
 * engine's own: that is the migration path for existing databases.
 */
async function ownership(
  c: PoolClient,
  schema: string,
  owner: VersionSchemaOwner | undefined,
): Promise<{ ok: true; exists: boolean } | { ok: false; why: string }> {
  const r = await c.query<{ comment: string | null }>(
    "SELECT obj_description(oid, 'pg_namespace') AS comment FROM pg_namespace WHERE nspname = $1",
    [schema],
  );
  if (r.rowCount === 0) return { ok: true, exists: false };
  const comment = r.rows[0]?.comment ?? "";
  if (!comment.startsWith(MARK)) {
    return { ok: false, why: `schema "${schema}" exists and was not created by the migration engine` };
  }
  const at = comment.indexOf(OWNER);
  if (owner && at >= 0) {
    const theirs = comment.slice(at + OWNER.length);
    const ours = JSON.stringify([owner.service, owner.environment, owner.migration]);
    if (theirs !== ours) return { ok: false, why: `schema "${schema}" belongs to ${theirs}, not to ${ours}` };
  }
  return { ok: true, exists: true };
}

/** The version schema of `owner` (see the naming above). */
export function versionSchemaName(owner: VersionSchemaOwner): string {
  return schemaNameOf(owner);
}

/** SQL that (re)creates `versionSchema` as views over `baseSchema` per `model`. Idempotent. */
export function createViewsSql(
  versionSchema: string,
  baseSchema: string,
  model: SchemaModel,
  grants: readonly string[] = [],
): string {
  return createViewsStatements(versionSchema, baseSchema, model, grants).join(";\n");
}

/** The statements of createViewsSql, one by one (each is sent as exactly one statement). */
export function createViewsStatements(
  versionSchema: string,
  baseSchema: string,
  model: SchemaModel,
  grants: readonly string[] = [],
): string[] {
  const out = [
    `DROP SCHEMA IF EXISTS ${ident(versionSchema)} CASCADE`,
    `CREATE SCHEMA ${ident(versionSchema)}`,
  ];
  out.push(
    `COMMENT ON SCHEMA ${ident(versionSchema)} IS ${literal(`shipshape version schema over ${baseSchema}`)}`,
  );
  for (const t of model.tables) {
    const cols = t.columns.map((c) => `${ident(c.physical)} AS ${ident(c.name)}`).join(", ");
    out.push(
      `CREATE VIEW ${qualified(versionSchema, t.name)} AS SELECT ${cols || "NULL::int AS _empty"} FROM ${qualified(baseSchema, t.physical)}`,
    );
    for (const [col, expr] of Object.entries(t.defaults ?? {})) {
      out.push(
        `ALTER VIEW ${qualified(versionSchema, t.name)} ALTER COLUMN ${ident(col)} SET DEFAULT ${expr}`,
      );
    }
  }
  for (const role of grants) {
    out.push(`GRANT USAGE ON SCHEMA ${ident(versionSchema)} TO ${ident(role)}`);
    out.push(
      `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${ident(versionSchema)} TO ${ident(role)}`,
    );
    // Column defaults (nextval) run with the inserting role's rights, not the view owner's.
    out.push(`GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ${ident(baseSchema)} TO ${ident(role)}`);
  }
  return out;
}

/** (Re)creates the version schema of `owner`; refuses (VALIDATION) a schema of that name that is not its own. */
export async function createVersionSchema(
  c: PoolClient,
  versionSchema: string,
  baseSchema: string,
  model: SchemaModel,
  grants: readonly string[],
  owner: VersionSchemaOwner,
): Promise<void> {
  const own = await ownership(c, versionSchema, owner);
  if (!own.ok) {
    throw new MigrationError(
      "VALIDATION",
      `${own.why}: refusing to replace it with the views of migration '${owner.migration}' ` +
        "(its name collides with this version schema's; nothing was dropped)",
    );
  }
  for (const sql of createViewsStatements(versionSchema, baseSchema, model, grants)) await c.query(sql);
  await c.query(`COMMENT ON SCHEMA ${ident(versionSchema)} IS ${literal(markOf(baseSchema, owner))}`);
}

/**
 * Drops a version schema the engine created (of `owner`, when given). A
 * schema of that name without the engine's mark (or another owner's) is kept:
 * returns false.
 */
export async function dropVersionSchema(
  c: PoolClient,
  versionSchema: string,
  owner?: VersionSchemaOwner,
): Promise<boolean> {
  const own = await ownership(c, versionSchema, owner);
  if (!own.ok || !own.exists) return false;
  await c.query(`DROP SCHEMA IF EXISTS ${ident(versionSchema)} CASCADE`);
  return true;
}

/** What a client of `versionSchema` puts on its connection. */
export function connectionSettings(versionSchema: string): { searchPath: string; pgOptions: string } {
  return { searchPath: versionSchema, pgOptions: `-c search_path=${versionSchema}` };
}
