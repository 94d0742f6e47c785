/**
 * The constraints and indexes of a shadowed column, carried over to its
 * shadow, so that complete's `DROP COLUMN … CASCADE` never takes them away:
 *
 *   start     a copy of each one on the shadow, under a private name
 *             (`_ss_c<migration>_<name>`): indexes and unique constraints as
 *             indexes built CONCURRENTLY, checks and foreign keys NOT VALID;
 *   complete  (while still active) VALIDATE the copies of validated
 *             originals and make sure every index copy is built; then, in
 *             the swap's transaction, the originals go with the old column
 *             and each copy takes its original's name (a unique index
 *             becomes the constraint again, `UNIQUE USING INDEX`);
 *   rollback  the copies go; the originals were never touched.
 *
 * The copy's definition is PostgreSQL's own: inside a rolled-back savepoint
 * the old column briefly takes the shadow's name and `pg_get_indexdef` /
 * `pg_get_constraintdef` deparse the original over it (expressions, partial
 * predicates, operator classes and collations included).
 *
 * What cannot be carried this way is refused before start records anything:
 * a primary key, foreign keys of other tables pointing at the column, an
 * exclusion constraint, an identity or serial column, and an index or
 * constraint that also covers another column the same migration shadows.
 */
import type { PoolClient } from "pg";
import { columnExists, constraintExists } from "../catalog";
import { ident, pgName, qualified } from "../sql";
import { MigrationError, type PreflightContext, type Queryable } from "../types";
import { createIndexConcurrently } from "./common";

export interface Dependent {
  kind: "index" | "unique" | "check" | "foreign_key" | "primary_key" | "exclusion";
  /** The original's name (the constraint's, for a constraint with an index). */
  name: string;
  /** Index oid (index, unique) or constraint oid. */
  oid: number;
  /** Columns it covers. */
  columns: string[];
  /** Constraint already validated (an index always is). */
  validated: boolean;
  /** `DEFERRABLE …` of a unique constraint, repeated when the copy becomes the constraint. */
  timing: string;
}

/** The private name of a dependent's copy while the migration runs. */
export function copyName(migrationId: number, name: string): string {
  return pgName(`_ss_c${migrationId}_${name}`);
}

const INDEX_KIND: Record<string, Dependent["kind"]> = { p: "primary_key", u: "unique", x: "exclusion" };

/** Indexes and constraints on `column` of `table`; the engine's own (`_ss_…`) only when asked. */
export async function dependentsOf(
  c: Queryable,
  schema: string,
  table: string,
  column: string,
  opts: { internal?: boolean } = {},
): Promise<Dependent[]> {
  const tbl = qualified(schema, table);
  const indexes = await c.query<{
    name: string;
    oid: number;
    contype: string | null;
    timing: string;
    columns: string[];
  }>(
    `SELECT COALESCE(co.conname, ic.relname) AS name, i.indexrelid::int AS oid, co.contype,
            CASE WHEN co.condeferred THEN ' DEFERRABLE INITIALLY DEFERRED' WHEN co.condeferrable THEN ' DEFERRABLE' ELSE '' END AS timing,
            ARRAY(SELECT a.attname FROM pg_attribute a WHERE a.attrelid = i.indrelid AND a.attnum > 0
                     AND (a.attnum = ANY (i.indkey::int2[]) OR a.attnum IN (SELECT d.refobjsubid FROM pg_depend d
                          WHERE d.classid = 'pg_class'::regclass AND d.objid = i.indexrelid AND d.refobjid = i.indrelid)))::text[] AS columns
       FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
       LEFT JOIN pg_constraint co ON co.conindid = i.indexrelid AND co.conrelid = i.indrelid AND co.contype IN ('p', 'u', 'x')
      WHERE i.indrelid = $1::regclass ORDER BY 1`,
    [tbl],
  );
  const constraints = await c.query<{
    name: string;
    oid: number;
    contype: string;
    validated: boolean;
    columns: string[];
  }>(
    `SELECT co.conname AS name, co.oid::int AS oid, co.contype, co.convalidated AS validated,
            ARRAY(SELECT a.attname FROM pg_attribute a WHERE a.attrelid = co.conrelid AND a.attnum = ANY (co.conkey))::text[] AS columns
       FROM pg_constraint co WHERE co.conrelid = $1::regclass AND co.contype IN ('c', 'f') ORDER BY 1`,
    [tbl],
  );
  const out: Dependent[] = [
    ...indexes.rows.map((x) => ({
      kind: x.contype ? (INDEX_KIND[x.contype] ?? "index") : "index",
      name: x.name,
      oid: x.oid,
      columns: x.columns,
      validated: true,
      timing: x.timing,
    })),
    ...constraints.rows.map((x) => ({
      kind: x.contype === "c" ? ("check" as const) : ("foreign_key" as const),
      name: x.name,
      oid: x.oid,
      columns: x.columns,
      validated: x.validated,
      timing: "",
    })),
  ];
  return out.filter((d) => d.columns.includes(column) && (opts.internal || !d.name.startsWith("_ss_")));
}

/**
 * Throws VALIDATION when something on `table.column` cannot be carried over
 * (see the module comment); `shadowed` is every column the migration shadows.
 */
export async function refuseUncarriable(
  c: Queryable,
  schema: string,
  table: string,
  column: string,
  label: string,
  shadowed: PreflightContext["shadowed"],
): Promise<void> {
  const refuse = (why: string) => {
    throw new MigrationError(
      "VALIDATION",
      `${label}: ${why}; the engine cannot carry it over to the new column, so change it in a migration of its own (e.g. raw_sql)`,
    );
  };
  for (const d of await dependentsOf(c, schema, table, column)) {
    if (d.kind === "primary_key") refuse(`the column is part of the primary key ${d.name}`);
    if (d.kind === "exclusion") refuse(`the column is part of the exclusion constraint ${d.name}`);
    const other = d.columns.find(
      (x) => x !== column && shadowed.some((s) => s.table === table && s.column === x),
    );
    if (other)
      refuse(
        `${d.name} covers both ${table}.${column} and ${table}.${other}, which this migration also shadows`,
      );
  }
  await refuseReferenced(c, schema, table, column, label);
  const sequence = await c.query(
    `SELECT 1 FROM pg_attribute a WHERE a.attrelid = $1::regclass AND a.attname = $2
        AND (a.attidentity <> '' OR EXISTS (SELECT 1 FROM pg_depend d JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
              WHERE d.refobjid = a.attrelid AND d.refobjsubid = a.attnum AND d.deptype IN ('a', 'i')))`,
    [qualified(schema, table), column],
  );
  if (sequence.rowCount) refuse("the column owns a sequence (serial or identity)");
}

/**
 * Throws VALIDATION when another table's foreign key references the column:
 * complete's DROP COLUMN … CASCADE would take it away. Checked before start
 * records anything, and again when complete validates (an operation of the
 * same migration may have added one), while rollback is still possible.
 */
export async function refuseReferenced(
  c: Queryable,
  schema: string,
  table: string,
  column: string,
  label: string,
): Promise<void> {
  const incoming = await c.query<{ name: string; source: string }>(
    `SELECT co.conname AS name, co.conrelid::regclass::text AS source FROM pg_constraint co
       JOIN pg_attribute a ON a.attrelid = co.confrelid AND a.attnum = ANY (co.confkey)
      WHERE co.contype = 'f' AND co.confrelid = $1::regclass AND a.attname = $2 ORDER BY 1`,
    [qualified(schema, table), column],
  );
  const f = incoming.rows[0];
  if (f) {
    throw new MigrationError(
      "VALIDATION",
      `${label}: foreign key ${f.name} on ${f.source} references ${table}.${column}; the engine cannot carry it ` +
        "over to the new column, so change the column in a migration of its own (e.g. raw_sql)",
    );
  }
}

/**
 * SQL creating the copy of each dependent on `shadow` (which must exist),
 * deparsed by PostgreSQL while the old column carries the shadow's name.
 * Runs inside the caller's transaction and leaves nothing behind.
 */
async function copyStatements(
  c: PoolClient,
  schema: string,
  table: string,
  column: string,
  shadow: string,
  migrationId: number,
  deps: Dependent[],
): Promise<Map<string, string>> {
  const tbl = qualified(schema, table);
  const out = new Map<string, string>();
  if (!deps.length) return out;
  await c.query("SAVEPOINT _ss_deparse");
  try {
    await c.query(`ALTER TABLE ${tbl} RENAME COLUMN ${ident(shadow)} TO "_ss_deparse"`);
    await c.query(`ALTER TABLE ${tbl} RENAME COLUMN ${ident(column)} TO ${ident(shadow)}`);
    for (const d of deps) {
      const copy = ident(copyName(migrationId, d.name));
      if (d.kind === "index" || d.kind === "unique") {
        const r = await c.query<{ def: string }>("SELECT pg_get_indexdef($1::oid) AS def", [d.oid]);
        out.set(
          d.name,
          r.rows[0]!.def.replace(
            /^CREATE (UNIQUE )?INDEX ("(?:[^"]|"")+"|\S+) ON /,
            (_, unique = "") => `CREATE ${unique}INDEX CONCURRENTLY ${copy} ON `,
          ),
        );
      } else {
        const r = await c.query<{ def: string }>("SELECT pg_get_constraintdef($1::oid) AS def", [d.oid]);
        out.set(
          d.name,
          `ALTER TABLE ${tbl} ADD CONSTRAINT ${copy} ${r.rows[0]!.def.replace(/ NOT VALID$/, "")} NOT VALID`,
        );
      }
    }
  } finally {
    await c.query("ROLLBACK TO SAVEPOINT _ss_deparse");
  }
  return out;
}

export interface CarryArgs {
  schema: string;
  table: string;
  column: string;
  shadow: string;
  migrationId: number;
  label: string;
}

const isIndex = (d: Dependent) => d.kind === "index" || d.kind === "unique";
const isCheckOrKey = (d: Dependent) => d.kind === "check" || d.kind === "foreign_key";

/** Runs `fn`, naming the original when PostgreSQL refuses its copy (e.g. an operator class the new type lacks). */
async function carrying(a: CarryArgs, d: Dependent, fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    throw new MigrationError(
      "FAILED",
      `${a.label}: carrying ${d.name} over to the new column failed: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

/** Start, in a transaction: the NOT VALID copies of checks and foreign keys. */
export async function copyConstraints(c: PoolClient, a: CarryArgs): Promise<void> {
  const missing: Dependent[] = [];
  for (const d of (await dependentsOf(c, a.schema, a.table, a.column)).filter(isCheckOrKey)) {
    if (!(await constraintExists(c, a.schema, a.table, copyName(a.migrationId, d.name)))) missing.push(d);
  }
  const sql = await copyStatements(c, a.schema, a.table, a.column, a.shadow, a.migrationId, missing);
  for (const d of missing) await carrying(a, d, () => c.query(sql.get(d.name)!));
}

/**
 * Start (and complete, to be sure), outside a transaction: every index copy
 * built CONCURRENTLY; idempotent (a valid copy is kept, an invalid one rebuilt).
 */
export async function copyIndexes(c: PoolClient, a: CarryArgs): Promise<void> {
  const deps = (await dependentsOf(c, a.schema, a.table, a.column)).filter(isIndex);
  if (!deps.length) return;
  await c.query("BEGIN");
  let sql: Map<string, string>;
  try {
    sql = await copyStatements(c, a.schema, a.table, a.column, a.shadow, a.migrationId, deps);
  } finally {
    await c.query("ROLLBACK");
  }
  for (const d of deps) {
    const copy = copyName(a.migrationId, d.name);
    await carrying(a, d, () => createIndexConcurrently(c, a.schema, copy, sql.get(d.name)!));
  }
}

/** The copies complete must VALIDATE: those of originals that were validated. */
export async function copiesToValidate(c: Queryable, a: CarryArgs): Promise<string[]> {
  return (await dependentsOf(c, a.schema, a.table, a.column))
    .filter((d) => isCheckOrKey(d) && d.validated)
    .map((d) => copyName(a.migrationId, d.name));
}

export async function validateCopies(c: PoolClient, a: CarryArgs): Promise<void> {
  for (const name of await copiesToValidate(c, a)) {
    if (await constraintExists(c, a.schema, a.table, name)) {
      await c.query(`ALTER TABLE ${qualified(a.schema, a.table)} VALIDATE CONSTRAINT ${ident(name)}`);
    }
  }
}

/**
 * The swap, in its transaction: drops the old column with its originals and
 * gives each copy its original's name. `swapColumn` does the drop and the
 * rename of the shadow in between.
 */
export async function swapInCopies(
  c: PoolClient,
  a: CarryArgs,
  swapColumn: () => Promise<void>,
): Promise<void> {
  const deps = (await columnExists(c, a.schema, a.table, a.column))
    ? await dependentsOf(c, a.schema, a.table, a.column)
    : [];
  const tbl = qualified(a.schema, a.table);
  for (const d of deps) {
    const copy = copyName(a.migrationId, d.name);
    const there = isIndex(d)
      ? (await c.query("SELECT to_regclass($1) IS NOT NULL AS ok", [qualified(a.schema, copy)])).rows[0]?.ok
      : await constraintExists(c, a.schema, a.table, copy);
    if (!there) {
      throw new MigrationError(
        "FAILED",
        `${a.label}: the new column's copy of ${d.name} (${copy}) is missing`,
      );
    }
  }
  await swapColumn();
  for (const d of deps) {
    const copy = copyName(a.migrationId, d.name);
    if (d.kind === "index")
      await c.query(`ALTER INDEX ${qualified(a.schema, copy)} RENAME TO ${ident(d.name)}`);
    else if (d.kind === "unique")
      await c.query(
        `ALTER TABLE ${tbl} ADD CONSTRAINT ${ident(d.name)} UNIQUE USING INDEX ${ident(copy)}${d.timing}`,
      );
    else await c.query(`ALTER TABLE ${tbl} RENAME CONSTRAINT ${ident(copy)} TO ${ident(d.name)}`);
  }
}

/**
 * Rollback, in its transaction: everything built on the shadow (the copies,
 * and whatever other operations added to it) goes, so the column put aside
 * constrains nothing.
 */
export async function dropFromShadow(
  c: PoolClient,
  schema: string,
  table: string,
  shadow: string,
): Promise<void> {
  if (!(await columnExists(c, schema, table, shadow))) return;
  for (const d of await dependentsOf(c, schema, table, shadow, { internal: true })) {
    if (d.kind === "index") await c.query(`DROP INDEX IF EXISTS ${qualified(schema, d.name)}`);
    else await c.query(`ALTER TABLE ${qualified(schema, table)} DROP CONSTRAINT IF EXISTS ${ident(d.name)}`);
  }
}
