/**
 * create_index: CREATE INDEX CONCURRENTLY at start (never blocks writes); a
 * crash or lock timeout mid-build leaves an INVALID index, which the rerun
 * drops and rebuilds. Rollback drops it CONCURRENTLY (an index holds no data).
 * Columns and the `where` predicate name columns as the version sees them at
 * the operation's place; they are bound to the columns that back them in the
 * new version (a shadow, when this migration shadows one), so the index
 * survives complete.
 */
import type { PoolClient } from "pg";
import { z } from "zod";
import { bindingsAt, physicalExpression } from "../logical-names";
import { ident, qualified } from "../sql";
import { findColumn, findTable, type OpContext, type Operation } from "../types";
import { createIndexConcurrently, dropIndexConcurrently, finalColumn, Name, Sql } from "./common";
import { refuseTakenName } from "./taken-name";

export const kind = "create_index";
export const schema = z.strictObject({
  name: Name,
  table: Name,
  columns: z.array(Name).min(1),
  unique: z.boolean().default(false),
  method: z.enum(["btree", "hash", "gist", "gin", "brin", "spgist"]).default("btree"),
  where: Sql.optional(),
});
export type CreateIndex = z.infer<typeof schema>;

export function create(def: CreateIndex): Operation {
  let table = def.table;
  let columns: string[] = [];
  const label = `create_index ${def.name} on ${def.table}`;
  const finalColumns = (ctx: OpContext) => columns.map((c) => finalColumn(ctx, table, c, label));
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
    describe: () => `create index ${def.name} on ${def.table} (${def.columns.join(", ")})`,
    applyToModel(model) {
      const t = findTable(model, def.table, "create_index");
      table = t.physical;
      columns = def.columns.map((c) => findColumn(t, c, "create_index").physical);
    },
    preflight: (c, p) => refuseTakenName(c, p, { table, name: def.name, relation: true, label }),
    needs: (ctx) => [
      ...finalColumns(ctx).map((c) => `${table}.${c}`),
      ...(def.where ? bindingsAt(ctx, def.table, kind).map((b) => `${table}.${b.physical}`) : []),
    ],
    async start(ctx) {
      await ctx.stepOutsideTransaction(`start:${ctx.index}:create_index`, async (c) => {
        await createIndexConcurrently(
          c,
          ctx.schema,
          def.name,
          `CREATE ${def.unique ? "UNIQUE " : ""}INDEX CONCURRENTLY ${ident(def.name)} ON ${qualified(ctx.schema, table)}
             USING ${def.method} (${finalColumns(ctx).map(ident).join(", ")})${await predicate(ctx, c)}`,
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
