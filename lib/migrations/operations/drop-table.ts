/**
 * drop_table: the new version's schema simply has no view for the table; the
 * old version keeps using it. Complete drops it (the contract step runs only
 * after promotion, when no client of the old version is left).
 */
import { z } from "zod";
import { qualified } from "../sql";
import { findTable, type Operation } from "../types";
import { Cascade, dropBehaviour, Name } from "./common";

export const kind = "drop_table";
export const schema = z.strictObject({ table: Name, cascade: Cascade });
export type DropTable = z.infer<typeof schema>;

export function create(def: DropTable): Operation {
  let physical = def.table;
  return {
    kind,
    describe: () => `drop table ${def.table}`,
    applyToModel(model) {
      physical = findTable(model, def.table, "drop_table").physical;
      model.tables = model.tables.filter((t) => t.name !== def.table);
    },
    async start() {},
    async complete(ctx) {
      await ctx.step(`complete:${ctx.index}:drop_table`, async (c) => {
        // RESTRICT unless the migration says cascade: a foreign key another table still has on it
        // stops the contract instead of silently disappearing (the old views are already gone).
        await c.query(
          `DROP TABLE IF EXISTS ${qualified(ctx.schema, physical)} ${dropBehaviour(def.cascade)}`,
        );
      });
    },
    async rollback() {},
    touches: () => [`${def.table}.*`],
  };
}
