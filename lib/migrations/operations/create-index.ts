/**
 * create_index: CREATE INDEX CONCURRENTLY at start (never blocks writes); a
 * crash or lock timeout mid-build leaves an INVALID index, which the rerun
 * drops and rebuilds. Rollback drops it CONCURRENTLY (an index holds no data).
 * Columns and the `where` predicate name columns as the version sees them at
 * the operation's place; they are bound to the columns that back them in the
 * new version (a shadow, when this migration shadows one), so the index
 * survives complete.
 *
 * Key columns may carry an operator class (`text_pattern_ops`), a collation,
 * a sort order and a NULLS order; `include` adds non-key columns and
 * `storage_parameters` the WITH (…) options. All of them are part of the one
 * CREATE INDEX CONCURRENTLY statement, so none changes how it locks.
 */
import type { PoolClient } from "pg";
import { z } from "zod";
import { bindingsAt, physicalExpression } from "../logical-names";
import { ident, qualified } from "../sql";
import { findColumn, findTable, type OpContext, type Operation } from "../types";
import { createIndexConcurrently, dropIndexConcurrently, finalColumn, Name, Sql } from "./common";
import { refuseTakenName } from "./taken-name";

export const kind = "create_index";

/** An operator class or collation name, possibly schema-qualified; quoted part by part. */
const QualifiedName = z
  .string()
  .regex(
    /^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$/,
    "a name such as text_pattern_ops or pg_catalog.C",
  );

/** A key column: its name, or its name with an operator class, collation, sort order and NULLS order. */
export const IndexColumn = z.union([
  Name,
  z.strictObject({
    name: Name,
    opclass: QualifiedName.optional(),
    collate: z.string().min(1).optional(),
    sort: z.enum(["asc", "desc"]).optional(),
    nulls: z.enum(["first", "last"]).optional(),
  }),
]);
export type IndexColumn = z.infer<typeof IndexColumn>;

export const schema = z.strictObject({
  name: Name,
  table: Name,
  columns: z.array(IndexColumn).min(1),
  unique: z.boolean().default(false),
  method: z.enum(["btree", "hash", "gist", "gin", "brin", "spgist"]).default("btree"),
  /** Non-key columns stored in the index (INCLUDE), for index-only scans. */
  include: z.array(Name).min(1).optional(),
  /** WITH (…): e.g. `{ fillfactor: 70 }`, `{ fastupdate: false }`. */
  storage_parameters: z
    .record(
      z.string().regex(/^[a-z_][a-z0-9_]*$/, "a storage parameter such as fillfactor"),
      z.union([z.number(), z.boolean(), z.string().regex(/^[A-Za-z0-9_.]+$/, "a plain value")]),
    )
    .optional(),
  where: Sql.optional(),
});
export type CreateIndex = z.infer<typeof schema>;

const columnName = (c: IndexColumn) => (typeof c === "string" ? c : c.name);

/** `"col" text_pattern_ops DESC NULLS LAST` over the physical column. */
function keySql(c: IndexColumn, physical: string): string {
  if (typeof c === "string") return ident(physical);
  const opclass = c.opclass?.split(".").map(ident).join(".");
  return [
    ident(physical),
    c.collate !== undefined ? `COLLATE ${ident(c.collate)}` : "",
    opclass ?? "",
    c.sort ? c.sort.toUpperCase() : "",
    c.nulls ? `NULLS ${c.nulls.toUpperCase()}` : "",
  ]
    .filter(Boolean)
    .join(" ");
}

export function create(def: CreateIndex): Operation {
  let table = def.table;
  let columns: string[] = [];
  let include: string[] = [];
  const label = `create_index ${def.name} on ${def.table}`;
  const finalColumns = (ctx: OpContext) => columns.map((c) => finalColumn(ctx, table, c, label));
  const keys = (ctx: OpContext) =>
    finalColumns(ctx)
      .map((physical, i) => keySql(def.columns[i]!, physical))
      .join(", ");
  const tail = (ctx: OpContext) => {
    const inc = include.map((c) => finalColumn(ctx, table, c, label));
    const params = Object.entries(def.storage_parameters ?? {}).map(([k, v]) => `${k} = ${v}`);
    return (
      (inc.length ? ` INCLUDE (${inc.map(ident).join(", ")})` : "") +
      (params.length ? ` WITH (${params.join(", ")})` : "")
    );
  };
  /** The predicate over physical names; binding it briefly locks the table, so only when a name differs. */
  const predicate = async (ctx: OpContext, c: PoolClient) => {
    if (!def.where) return "";
    await c.query("BEGIN");
    try {
      return ` WHERE ${await physicalExpression(c, ctx.schema, table, bindingsAt(ctx, def.table, kind), def.where)}`;
    } finally {
      await c.query("ROLLBACK");
    }
  };
  return {
    kind,
    describe: () => `create index ${def.name} on ${def.table} (${def.columns.map(columnName).join(", ")})`,
    applyToModel(model) {
      const t = findTable(model, def.table, "create_index");
      table = t.physical;
      columns = def.columns.map((c) => findColumn(t, columnName(c), "create_index").physical);
      include = (def.include ?? []).map((c) => findColumn(t, c, "create_index").physical);
    },
    preflight: (c, p) => refuseTakenName(c, p, { table, name: def.name, relation: true, label }),
    needs: (ctx) => [
      ...finalColumns(ctx).map((c) => `${table}.${c}`),
      ...include.map((c) => `${table}.${finalColumn(ctx, table, c, label)}`),
      ...(def.where ? bindingsAt(ctx, def.table, kind).map((b) => `${table}.${b.physical}`) : []),
    ],
    async start(ctx) {
      await ctx.stepOutsideTransaction(`start:${ctx.index}:create_index`, async (c) => {
        await createIndexConcurrently(
          c,
          ctx.schema,
          def.name,
          `CREATE ${def.unique ? "UNIQUE " : ""}INDEX CONCURRENTLY ${ident(def.name)} ON ${qualified(ctx.schema, table)}
             USING ${def.method} (${keys(ctx)})${tail(ctx)}${await predicate(ctx, c)}`,
        );
      });
    },
    async complete() {},
    async rollback(ctx) {
      await ctx.stepOutsideTransaction(`rollback:${ctx.index}:create_index`, async (c) => {
        await dropIndexConcurrently(c, ctx.schema, def.name);
      });
    },
  };
}
