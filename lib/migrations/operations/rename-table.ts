/**
 * rename_table: the new version's view has the new name over the same
 * physical table; complete renames the table itself (last, because other
 * operations of the migration address it by its physical name).
 */
import { z } from "zod";
import { tableExists } from "../catalog";
import { ident, qualified } from "../sql";
import { findTable, MigrationError, type Operation } from "../types";
import { Name } from "./common";

export const kind = "rename_table";
export const schema = z.strictObject({ from: Name, to: Name });
export type RenameTable = z.infer<typeof schema>;

export function create(def: RenameTable): Operation {
  let physical = def.from;
  return {
    kind,
    completeLast: true,
    describe: () => `rename table ${def.from} to ${def.to}`,
    applyToModel(model) {
      const t = findTable(model, def.from, "rename_table");
      if (model.tables.some((x) => x.name === def.to)) {
        throw new MigrationError("VALIDATION", `rename_table: table '${def.to}' already exists`);
      }
      physical = t.physical;
      t.name = def.to;
    },
    async start() {},
    async complete(ctx) {
      await ctx.step(`complete:${ctx.index}:rename_table`, async (c) => {
        if (physical === def.to || !(await tableExists(c, ctx.schema, physical))) return;
        await c.query(`ALTER TABLE ${qualified(ctx.schema, physical)} RENAME TO ${ident(def.to)}`);
      });
    },
    async rollback() {},
    touches: () => [`${def.from}.*`],
  };
}
