/**
 * drop_constraint: the constraint keeps being enforced while both versions
 * run (the old version relies on it), and is dropped on complete.
 */
import { z } from "zod";
import { constraintExists } from "../catalog";
import { ident, qualified } from "../sql";
import { findTable, MigrationError, type Operation } from "../types";
import { Name } from "./common";

export const kind = "drop_constraint";
export const schema = z.strictObject({ table: Name, name: Name });
export type DropConstraint = z.infer<typeof schema>;

export function create(def: DropConstraint): Operation {
  let table = def.table;
  return {
    kind,
    describe: () => `drop constraint ${def.name} on ${def.table}`,
    applyToModel(model) {
      table = findTable(model, def.table, "drop_constraint").physical;
    },
    async start(ctx) {
      await ctx.step(`start:${ctx.index}:drop_constraint:check`, async (c) => {
        if (!(await constraintExists(c, ctx.schema, table, def.name))) {
          throw new MigrationError(
            "VALIDATION",
            `drop_constraint: '${def.name}' does not exist on ${def.table}`,
          );
        }
      });
    },
    async complete(ctx) {
      await ctx.step(`complete:${ctx.index}:drop_constraint`, async (c) => {
        await c.query(
          `ALTER TABLE ${qualified(ctx.schema, table)} DROP CONSTRAINT IF EXISTS ${ident(def.name)}`,
        );
      });
    },
    async rollback() {},
  };
}
