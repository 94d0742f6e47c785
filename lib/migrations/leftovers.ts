/**
 * What the migration engine left behind in a database: triggers and trigger
 * functions, internal `_ss_` tables and columns (and whether each is recorded
 * as put-aside data of a rollback, which is kept on purpose), INVALID indexes
 * and the service's version schemas. Between deployments all of these but the
 * recorded aside data and the current version schema must be empty; the
 * engine's tests and the chaos suite both check that through this one query.
 */
import { Client } from "pg";
import { STATE_SCHEMA } from "./state";

export interface Leftovers {
  /** Non-internal triggers on tables of `public` (the engine's dual-write triggers). */
  triggers: string[];
  /** Functions in the engine's state schema (trigger functions). */
  functions: string[];
  /** `_ss_` tables/columns not recorded as put-aside data. */
  unrecordedInternal: string[];
  /** Every `_ss_` table/column (`table.column`, column empty for a table). */
  aside: string[];
  invalidIndexes: string[];
  /** Schemas named `<service>_…`: the version schemas. */
  versionSchemas: string[];
}

export async function findLeftovers(url: string, service: string): Promise<Leftovers> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    const triggers = await c.query<{ tgname: string }>(
      `SELECT tgname FROM pg_trigger t JOIN pg_class cl ON cl.oid = t.tgrelid JOIN pg_namespace n ON n.oid = cl.relnamespace
        WHERE n.nspname = 'public' AND NOT t.tgisinternal ORDER BY 1`,
    );
    const functions = await c.query<{ proname: string }>(
      `SELECT proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = $1 ORDER BY 1`,
      [STATE_SCHEMA],
    );
    const internal = await c.query<{ table: string; column: string | null }>(
      `SELECT cl.relname AS table, NULL AS column FROM pg_class cl JOIN pg_namespace n ON n.oid = cl.relnamespace
        WHERE n.nspname = 'public' AND cl.relkind = 'r' AND cl.relname LIKE '\\_ss\\_%'
       UNION ALL
       SELECT cl.relname, a.attname FROM pg_attribute a JOIN pg_class cl ON cl.oid = a.attrelid
         JOIN pg_namespace n ON n.oid = cl.relnamespace
        WHERE n.nspname = 'public' AND cl.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
          AND a.attname LIKE '\\_ss\\_%' AND cl.relname NOT LIKE '\\_ss\\_%'`,
    );
    const hasAside = (
      await c.query<{ ok: boolean }>(`SELECT to_regclass('${STATE_SCHEMA}.aside') IS NOT NULL AS ok`)
    ).rows[0]?.ok;
    const aside = hasAside
      ? (
          await c.query<{ table_name: string; column_name: string | null }>(
            `SELECT table_name, column_name FROM ${STATE_SCHEMA}.aside WHERE purged_at IS NULL`,
          )
        ).rows
      : [];
    const recorded = new Set(aside.map((a) => `${a.table_name}.${a.column_name ?? ""}`));
    const all = internal.rows.map((r) => `${r.table}.${r.column ?? ""}`);
    const invalidIndexes = await c.query<{ name: string }>(
      "SELECT indexrelid::regclass::text AS name FROM pg_index WHERE NOT indisvalid",
    );
    const schemas = await c.query<{ nspname: string }>(
      `SELECT nspname FROM pg_namespace WHERE nspname LIKE $1 ORDER BY 1`,
      [`${service.replace(/[\\_%]/g, (m) => `\\${m}`)}\\_%`],
    );
    return {
      triggers: triggers.rows.map((r) => r.tgname),
      functions: functions.rows.map((r) => r.proname),
      unrecordedInternal: all.filter((k) => !recorded.has(k)),
      aside: all,
      invalidIndexes: invalidIndexes.rows.map((r) => r.name),
      versionSchemas: schemas.rows.map((r) => r.nspname),
    };
  } finally {
    await c.end();
  }
}
