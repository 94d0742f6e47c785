/** Pieces several operations share: the column definition of migration files, SQL for it, constraint names. */
import type { PoolClient } from "pg";
import { z } from "zod";
import { ident, pgName, qualified } from "../sql";
import { expressionProblem, statementProblem } from "../sql-fragment";
import { finalPhysical, findTable, MigrationError, type OpContext, type SchemaModel } from "../types";

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

export const FkAction = z.enum(["NO ACTION", "RESTRICT", "CASCADE", "SET NULL", "SET DEFAULT"]);

/** What a foreign key does besides pointing at its target (shared by `references` and add_constraint). */
export const FkOptions = {
  on_delete: FkAction.optional(),
  on_update: FkAction.optional(),
  /** `full`: a row with some key columns NULL and others not is refused (default `simple`). */
  match: z.enum(["simple", "full"]).optional(),
  deferrable: z.boolean().optional(),
  /** Only with `deferrable: true`: checked at commit unless SET CONSTRAINTS says otherwise. */
  initially_deferred: z.boolean().optional(),
};

export const References = z
  .strictObject({ table: Name, column: Name, ...FkOptions })
  .refine((r) => !r.initially_deferred || r.deferrable, {
    message: "initially_deferred needs deferrable: true",
    path: ["initially_deferred"],
  });

/** `MATCH FULL ON DELETE … ON UPDATE … DEFERRABLE …`: the clauses after REFERENCES t (c). */
export function fkClauses(o: {
  on_delete?: string;
  on_update?: string;
  match?: "simple" | "full";
  deferrable?: boolean;
  initially_deferred?: boolean;
}): string {
  return [
    o.match === "full" ? "MATCH FULL" : "",
    o.on_delete ? `ON DELETE ${o.on_delete}` : "",
    o.on_update ? `ON UPDATE ${o.on_update}` : "",
    o.deferrable ? `DEFERRABLE INITIALLY ${o.initially_deferred ? "DEFERRED" : "IMMEDIATE"}` : "",
  ]
    .filter(Boolean)
    .join(" ");
}

export const ColumnDef = z.strictObject({
  name: Name,
  type: Sql,
  nullable: z.boolean().default(true),
  default: Sql.optional(),
  primary_key: z.boolean().default(false),
  unique: z.boolean().default(false),
  references: References.optional(),
  check: Sql.optional(),
  /** GENERATED … AS IDENTITY (create_table only: adding one to a table fills every row). */
  identity: z
    .strictObject({
      generated: z.enum(["always", "by_default"]).default("by_default"),
      start: z.number().int().optional(),
      increment: z.number().int().optional(),
    })
    .optional(),
  /** GENERATED ALWAYS AS (expression) STORED (create_table only: adding one rewrites the table). */
  generated: Sql.optional(),
});
export type ColumnDef = z.infer<typeof ColumnDef>;

/** `GENERATED …` of a column definition, or "". */
export function generatedSql(c: Pick<ColumnDef, "identity" | "generated">): string {
  if (c.generated !== undefined) return `GENERATED ALWAYS AS (${c.generated}) STORED`;
  if (!c.identity) return "";
  const { generated, start, increment } = c.identity;
  const options = [
    start !== undefined ? `START WITH ${start}` : "",
    increment !== undefined ? `INCREMENT BY ${increment}` : "",
  ].filter(Boolean);
  return `GENERATED ${generated === "always" ? "ALWAYS" : "BY DEFAULT"} AS IDENTITY${options.length ? ` (${options.join(" ")})` : ""}`;
}

/** What a column definition may not combine with identity / generated (PostgreSQL refuses it, less clearly). */
export function refuseGeneratedConflicts(c: ColumnDef, where: string): void {
  if (c.identity && c.generated !== undefined) {
    throw new MigrationError("VALIDATION", `${where}: a column is either identity or generated, not both`);
  }
  if ((c.identity || c.generated !== undefined) && c.default !== undefined) {
    throw new MigrationError("VALIDATION", `${where}: an identity or generated column has no default`);
  }
}

export function uniqueName(table: string, column: string): string {
  return pgName(`${table}_${column}_key`);
}
export function fkName(table: string, column: string): string {
  return pgName(`${table}_${column}_fkey`);
}
export function checkName(table: string, column: string): string {
  return pgName(`${table}_${column}_check`);
}

/**
 * The physical column that backs, in the new version, physical column
 * `column` of `table` as an operation saw it (its shadow, when a later
 * operation shadows it); VALIDATION when a later operation drops it.
 */
export function finalColumn(ctx: OpContext, table: string, column: string, label: string): string {
  const out = finalPhysical(ctx.final, table, column);
  if (!out) throw new MigrationError("VALIDATION", `${label}: this migration drops ${table}.${column}`);
  return out;
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
  const clauses = fkClauses(ref);
  return `REFERENCES ${qualified(schema, t.physical)} (${ident(physical)})${clauses ? ` ${clauses}` : ""}`;
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
