/**
 * set_default: while both versions run, the new default lives on the new
 * version's VIEW (`ALTER VIEW … SET DEFAULT`), so only inserts through the
 * new version get it and the old version keeps its own default. Complete
 * moves it onto the table.
 */
import { z } from "zod";
import { columnExists } from "../catalog";
import { ident, qualified } from "../sql";
import { findColumn, findTable, type Operation } from "../types";
import { Name, Sql } from "./common";

export const kind = "set_default";
export const schema = z.strictObject({ table: Name, column: Name, default: Sql.nullable() });
export type SetDefault = z.infer<typeof schema>;

export function create(def: SetDefault): Operation {
  let table = def.table;
  let physical = def.column;
  return {
    kind,
    describe: () => `set default of ${def.table}.${def.column} to ${def.default ?? "NULL"}`,
    applyToModel(model) {
      const t = findTable(model, def.table, "set_default");
      const c = findColumn(t, def.column, "set_default");
      table = t.physical;
      physical = c.physical;
      t.defaults = { ...t.defaults, [def.column]: def.default ?? "NULL" };
    },
    async start() {},
    async complete(ctx) {
      await ctx.step(`complete:${ctx.index}:set_default`, async (c) => {
        // An earlier operation's complete may have renamed the column (rename_column
        // or alter_column before this one): then it carries its final name.
        const named = ctx.final.tables
          .find((t) => t.physical === table)
          ?.columns.find((x) => x.physical === physical)?.name;
        let column: string | undefined;
        for (const candidate of [physical, named]) {
          if (!column && candidate && (await columnExists(c, ctx.schema, table, candidate)))
            column = candidate;
        }
        if (!column) return;
        const tbl = qualified(ctx.schema, table);
        await c.query(
          def.default === null
            ? `ALTER TABLE ${tbl} ALTER COLUMN ${ident(column)} DROP DEFAULT`
            : `ALTER TABLE ${tbl} ALTER COLUMN ${ident(column)} SET DEFAULT ${def.default}`,
        );
      });
    },
    async rollback() {},
    touches: () => [`${def.table}.${def.column}:default`],
  };
}
