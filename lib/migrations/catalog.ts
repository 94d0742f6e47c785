/** Catalog queries the engine and operations share. */
import { INTERNAL_PREFIX } from "./sql";
import type { Queryable, SchemaModel } from "./types";

type Q = Queryable;

/**
 * Logical model of a physical schema as it stands: every table and column
 * except the engine's own (`_ss_…`: shadows and put-aside data).
 */
export async function readModel(c: Q, schema: string): Promise<SchemaModel> {
  const r = await c.query<{ table: string; column: string | null }>(
    `SELECT cl.relname AS table, a.attname AS column
       FROM pg_class cl
       JOIN pg_namespace n ON n.oid = cl.relnamespace
       LEFT JOIN pg_attribute a ON a.attrelid = cl.oid AND a.attnum > 0 AND NOT a.attisdropped
                               AND left(a.attname, ${INTERNAL_PREFIX.length}) <> $2
      WHERE n.nspname = $1 AND cl.relkind IN ('r', 'p')
        AND left(cl.relname, ${INTERNAL_PREFIX.length}) <> $2
      ORDER BY cl.relname, a.attnum`,
    [schema, INTERNAL_PREFIX],
  );
  const tables = new Map<string, SchemaModel["tables"][number]>();
  for (const row of r.rows) {
    let t = tables.get(row.table);
    if (!t) {
      t = { name: row.table, physical: row.table, columns: [] };
      tables.set(row.table, t);
    }
    if (row.column) t.columns.push({ name: row.column, physical: row.column });
  }
  return { tables: [...tables.values()] };
}

export async function tableExists(c: Q, schema: string, table: string): Promise<boolean> {
  const r = await c.query(
    `SELECT 1 FROM pg_class cl JOIN pg_namespace n ON n.oid = cl.relnamespace
      WHERE n.nspname = $1 AND cl.relname = $2 AND cl.relkind IN ('r', 'p')`,
    [schema, table],
  );
  return r.rowCount === 1;
}

export async function columnExists(c: Q, schema: string, table: string, column: string): Promise<boolean> {
  const r = await c.query(
    `SELECT 1 FROM pg_attribute a JOIN pg_class cl ON cl.oid = a.attrelid
       JOIN pg_namespace n ON n.oid = cl.relnamespace
      WHERE n.nspname = $1 AND cl.relname = $2 AND a.attname = $3 AND a.attnum > 0 AND NOT a.attisdropped`,
    [schema, table, column],
  );
  return r.rowCount === 1;
}

/** Physical column name -> formatted type, for declaring trigger variables. */
export async function columnTypes(c: Q, schema: string, table: string): Promise<Map<string, string>> {
  const r = await c.query<{ name: string; type: string }>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type
       FROM pg_attribute a JOIN pg_class cl ON cl.oid = a.attrelid
       JOIN pg_namespace n ON n.oid = cl.relnamespace
      WHERE n.nspname = $1 AND cl.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped`,
    [schema, table],
  );
  return new Map(r.rows.map((x) => [x.name, x.type]));
}

export interface KeyColumn {
  name: string;
  type: string;
}

/** Primary key (or failing that, a unique index over NOT NULL columns): the keyset for backfill and probes. */
export async function keyColumns(c: Q, schema: string, table: string): Promise<KeyColumn[]> {
  const r = await c.query<{ name: string; type: string; idx: string }>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, i.indexrelid::text AS idx
       FROM pg_index i
       JOIN pg_class cl ON cl.oid = i.indrelid
       JOIN pg_namespace n ON n.oid = cl.relnamespace
       JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) ON true
       JOIN pg_attribute a ON a.attrelid = cl.oid AND a.attnum = k.attnum
      WHERE n.nspname = $1 AND cl.relname = $2 AND i.indisunique AND i.indisvalid AND i.indpred IS NULL
        AND i.indexprs IS NULL
        AND NOT EXISTS (SELECT 1 FROM unnest(i.indkey) kk(x) JOIN pg_attribute aa
                          ON aa.attrelid = cl.oid AND aa.attnum = kk.x WHERE NOT aa.attnotnull)
      ORDER BY i.indisprimary DESC, i.indexrelid, k.ord`,
    [schema, table],
  );
  const first = r.rows[0]?.idx;
  return r.rows.filter((x) => x.idx === first).map((x) => ({ name: x.name, type: x.type }));
}

export interface IndexState {
  exists: boolean;
  valid: boolean;
}

export async function indexState(c: Q, schema: string, name: string): Promise<IndexState> {
  const r = await c.query<{ valid: boolean }>(
    `SELECT i.indisvalid AND i.indisready AS valid FROM pg_index i JOIN pg_class cl ON cl.oid = i.indexrelid
       JOIN pg_namespace n ON n.oid = cl.relnamespace WHERE n.nspname = $1 AND cl.relname = $2`,
    [schema, name],
  );
  return { exists: r.rowCount === 1, valid: Boolean(r.rows[0]?.valid) };
}

export async function constraintExists(c: Q, schema: string, table: string, name: string): Promise<boolean> {
  const r = await c.query(
    `SELECT 1 FROM pg_constraint co JOIN pg_class cl ON cl.oid = co.conrelid
       JOIN pg_namespace n ON n.oid = cl.relnamespace WHERE n.nspname = $1 AND cl.relname = $2 AND co.conname = $3`,
    [schema, table, name],
  );
  return r.rowCount === 1;
}

export async function schemaExists(c: Q, schema: string): Promise<boolean> {
  const r = await c.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [schema]);
  return r.rowCount === 1;
}
