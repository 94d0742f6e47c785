/**
 * drop_column: hidden from the new version's view at start; dropped on
 * complete. If the old version needs a value when the new version inserts
 * (NOT NULL without default), `down` computes it from the new row.
 */
import { z } from "zod";
import { columnTypes } from "../catalog";
import { ident, qualified, triggerName } from "../sql";
import { findColumn, findTable, type OpContext, type Operation } from "../types";
import { Cascade, dropBehaviour, Name, Sql } from "./common";
import { assignBlock, dropTrigger, installTrigger } from "./triggers";

export const kind = "drop_column";
export const schema = z.strictObject({ table: Name, column: Name, down: Sql.optional(), cascade: Cascade });
export type DropColumn = z.infer<typeof schema>;

export function create(def: DropColumn): Operation {
  let table = def.table;
  let physical = def.column;
  const trig = (ctx: OpContext) => triggerName(ctx.migrationId, ctx.index, table);
  return {
    kind,
    describe: () => `drop column ${def.table}.${def.column}`,
    applyToModel(model) {
      const t = findTable(model, def.table, "drop_column");
      const c = findColumn(t, def.column, "drop_column");
      table = t.physical;
      physical = c.physical;
      t.columns = t.columns.filter((x) => x !== c);
    },
    async start(ctx) {
      const down = def.down;
      if (!down) return;
      await ctx.step(`start:${ctx.index}:drop_column:trigger`, async (c) => {
        const types = await columnTypes(c, ctx.schema, table);
        const after = findTable(ctx.after, def.table, "drop_column");
        const block = assignBlock(physical, { expression: down, columns: after.columns }, types);
        await installTrigger(c, {
          schema: ctx.schema,
          table,
          name: trig(ctx),
          events: "INSERT",
          body: `IF NEW.${ident(physical)} IS NULL THEN ${block} END IF;`,
        });
      });
    },
    dualWrites: (ctx) =>
      def.down
        ? [
            {
              label: `${def.table}.${def.column}`,
              table,
              old: { name: def.column, physical },
              new: null,
              down: { expression: def.down, columns: findTable(ctx.after, def.table, "drop_column").columns },
              lossless: false,
            },
          ]
        : [],
    async complete(ctx) {
      await ctx.step(`complete:${ctx.index}:drop_column`, async (c) => {
        await dropTrigger(c, ctx.schema, table, trig(ctx));
        await c.query(
          `ALTER TABLE ${qualified(ctx.schema, table)} DROP COLUMN IF EXISTS ${ident(physical)} ${dropBehaviour(def.cascade)}`,
        );
      });
    },
    async rollback(ctx) {
      if (!def.down) return;
      await ctx.step(`rollback:${ctx.index}:drop_column`, async (c) => {
        await dropTrigger(c, ctx.schema, table, trig(ctx));
      });
    },
    touches: () => [`${def.table}.${def.column}`],
  };
}
