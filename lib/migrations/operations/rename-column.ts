/**
 * rename_column: pure view work while both versions run (`old AS new` in the
 * new version's view, which stays auto-updatable); complete renames the
 * physical column. Nothing to undo on rollback but the view schema.
 */
import { z } from "zod";
import { columnExists } from "../catalog";
import { ident, qualified } from "../sql";
import { findColumn, findTable, MigrationError, type Operation } from "../types";
import { Name } from "./common";

export const kind = "rename_column";
export const schema = z.strictObject({ table: Name, from: Name, to: Name });
export type RenameColumn = z.infer<typeof schema>;

export function create(def: RenameColumn): Operation {
  let physicalTable = def.table;
  let physicalColumn = def.from;
  return {
    kind,
    describe: () => `rename column ${def.table}.${def.from} to ${def.to}`,
    applyToModel(model) {
      const t = findTable(model, def.table, "rename_column");
      const c = findColumn(t, def.from, "rename_column");
      if (t.columns.some((x) => x.name === def.to)) {
        throw new MigrationError(
          "VALIDATION",
          `rename_column: column '${def.table}.${def.to}' already exists`,
        );
      }
      physicalTable = t.physical;
      physicalColumn = c.physical;
      c.name = def.to;
    },
    async start() {},
    async complete(ctx) {
      await ctx.step(`complete:${ctx.index}:rename_column`, async (c) => {
        if (physicalColumn === def.to) return;
        if (!(await columnExists(c, ctx.schema, physicalTable, physicalColumn))) return;
        await c.query(
          `ALTER TABLE ${qualified(ctx.schema, physicalTable)} RENAME COLUMN ${ident(physicalColumn)} TO ${ident(def.to)}`,
        );
      });
    },
    async rollback() {},
    touches: () => [`${def.table}.${def.from}`],
  };
}
