/** Pieces several operations share: the column definition of migration files, SQL for it, constraint names. */
import type { PoolClient } from "pg";
import { z } from "zod";
import { ident, pgName, qualified } from "../sql";
import { expressionProblem, statementProblem } from "../sql-fragment";
import { findTable, type SchemaModel } from "../types";

/** SQL identifiers in migration files: any non-empty name up to 63 bytes. */
export const Name = z
  .string()
  .min(1, "must not be empty")
  .refine((s) => Buffer.byteLength(s) <= 63, "PostgreSQL names are at most 63 bytes")
  .refine((s) => !s.startsWith("_ss_"), "names starting with _ss_ are reserved for the migration engine");

/**
 * An SQL expression or type from a migration file. It is spliced into
 * generated statements and trigger bodies, so it must be exactly one
 * expression (see sql-fragment.ts); refused at validate time with its position.
 */
export const Sql = z
  .string()
  .min(1, "must not be empty")
  .superRefine((s, ctx) => {
    const problem = expressionProblem(s);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });

/** One SQL statement (raw_sql); empty means "nothing to do". */
export const SqlStatement = z.string().superRefine((s, ctx) => {
  const problem = statementProblem(s);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

/**
 * Contract steps drop with RESTRICT: a foreign key, view or other object that
 * depends on what is dropped stops the drop instead of disappearing with it.
 * A migration that means to drop the dependents too says `cascade: true`.
 */
export const Cascade = z.boolean().default(false);
export const dropBehaviour = (cascade: boolean) => (cascade ? "CASCADE" : "RESTRICT");

export const References = z.strictObject({
  table: Name,
  column: Name,
  on_delete: z.enum(["NO ACTION", "RESTRICT", "CASCADE", "SET NULL", "SET DEFAULT"]).optional(),
});

export const ColumnDef = z.strictObject({
  name: Name,
  type: Sql,
  nullable: z.boolean().default(true),
  default: Sql.optional(),
  primary_key: z.boolean().default(false),
  unique: z.boolean().default(false),
  references: References.optional(),
  check: Sql.optional(),
});
export type ColumnDef = z.infer<typeof ColumnDef>;

export function uniqueName(table: string, column: string): string {
  return pgName(`${table}_${column}_key`);
}
export function fkName(table: string, column: string): string {
  return pgName(`${table}_${column}_fkey`);
}
export function checkName(table: string, column: string): string {
  return pgName(`${table}_${column}_check`);
}

/** Physical table behind a logical table of `model`. */
export function physicalTable(model: SchemaModel, table: string, op: string): string {
  return findTable(model, table, op).physical;
}

/** `REFERENCES schema.table (column) ON DELETE …` resolved against the logical model. */
export function referencesSql(
  schema: string,
  model: SchemaModel,
  ref: z.infer<typeof References>,
  op: string,
) {
  const t = findTable(model, ref.table, op);
  const col = t.columns.find((c) => c.name === ref.column);
  const physical = col?.physical ?? ref.column;
  return `REFERENCES ${qualified(schema, t.physical)} (${ident(physical)})${ref.on_delete ? ` ON DELETE ${ref.on_delete}` : ""}`;
}

export async function dropIndexConcurrently(c: PoolClient, schema: string, name: string): Promise<void> {
  await c.query(`DROP INDEX CONCURRENTLY IF EXISTS ${qualified(schema, name)}`);
}

/**
 * CREATE [UNIQUE] INDEX CONCURRENTLY, idempotently: a previous attempt that
 * crashed or hit lock_timeout leaves an INVALID index, which is dropped and
 * built again; a valid one is kept.
 */
export async function createIndexConcurrently(
  c: PoolClient,
  schema: string,
  name: string,
  definition: string,
): Promise<void> {
  const r = await c.query<{ valid: boolean }>(
    `SELECT i.indisvalid AND i.indisready AS valid FROM pg_index i JOIN pg_class cl ON cl.oid = i.indexrelid
       JOIN pg_namespace n ON n.oid = cl.relnamespace WHERE n.nspname = $1 AND cl.relname = $2`,
    [schema, name],
  );
  if (r.rows[0]?.valid) return;
  if (r.rows[0]) await dropIndexConcurrently(c, schema, name);
  try {
    await c.query(definition);
  } catch (err) {
    // Do not leave an INVALID index behind a lock timeout; the retry rebuilds it.
    await dropIndexConcurrently(c, schema, name).catch(() => undefined);
    throw err;
  }
}
