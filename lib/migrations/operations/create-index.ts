/**
 * create_index: CREATE INDEX CONCURRENTLY at start (never blocks writes); a
 * crash or lock timeout mid-build leaves an INVALID index, which the rerun
 * drops and rebuilds. Rollback drops it CONCURRENTLY (an index holds no data).
 */
import { z } from "zod";
import { ident, qualified } from "../sql";
import { findColumn, findTable, type Operation } from "../types";
import { createIndexConcurrently, dropIndexConcurrently, Name, Sql } from "./common";

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
  return {
    kind,
    describe: () => `create index ${def.name} on ${def.table} (${def.columns.join(", ")})`,
    applyToModel(model) {
      // Columns resolve against the new version, so an index can cover a column this migration adds or changes.
      const t = findTable(model, def.table, "create_index");
      table = t.physical;
      columns = def.columns.map((c) => findColumn(t, c, "create_index").physical);
    },
    async start(ctx) {
      await ctx.stepOutsideTransaction(`start:${ctx.index}:create_index`, async (c) => {
        await createIndexConcurrently(
          c,
          ctx.schema,
          def.name,
          `CREATE ${def.unique ? "UNIQUE " : ""}INDEX CONCURRENTLY ${ident(def.name)} ON ${qualified(ctx.schema, table)}
             USING ${def.method} (${columns.map(ident).join(", ")})${def.where ? ` WHERE ${def.where}` : ""}`,
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
