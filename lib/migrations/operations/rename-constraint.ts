/**
 * rename_constraint: ALTER TABLE … RENAME CONSTRAINT is a catalog change (no
 * validation scan, no rewrite; the brief ACCESS EXCLUSIVE lock is taken
 * under lock_timeout). Constraint names matter only to error messages and
 * to later migrations, so the old version keeps the old name while both
 * versions run: start only checks that the constraint exists and the new
 * name is free, complete renames it (a unique or primary key constraint's
 * index follows). Rollback has nothing to undo.
 */
import { z } from "zod";
import { constraintExists } from "../catalog";
import { ident, qualified } from "../sql";
import { findTable, MigrationError, type Operation } from "../types";
import { dependentsOf } from "./carry-over";
import { Name } from "./common";
import { refuseTakenName } from "./taken-name";

export const kind = "rename_constraint";
export const schema = z.strictObject({ table: Name, from: Name, to: Name });
export type RenameConstraint = z.infer<typeof schema>;

export function create(def: RenameConstraint): Operation {
  let table = def.table;
  const label = `rename_constraint ${def.from} on ${def.table} to ${def.to}`;
  return {
    kind,
    describe: () => label,
    applyToModel(model) {
      table = findTable(model, def.table, kind).physical;
      if (def.from === def.to) throw new MigrationError("VALIDATION", `${label}: the names are the same`);
    },
    async preflight(c, p) {
      // A constraint on a column this migration shadows is copied and swapped by name on complete.
      for (const s of p.shadowed.filter((x) => x.table === table)) {
        if ((await dependentsOf(c, p.schema, table, s.column)).some((d) => d.name === def.from)) {
          throw new MigrationError(
            "VALIDATION",
            `${label}: ${def.from} covers ${table}.${s.column}, which ${s.by} shadows in this migration; rename it in another migration`,
          );
        }
      }
      await refuseTakenName(c, p, { table, name: def.to, relation: true, label });
    },
    async start(ctx) {
      await ctx.step(`start:${ctx.index}:rename_constraint:check`, async (c) => {
        if (!(await constraintExists(c, ctx.schema, table, def.from))) {
          throw new MigrationError("VALIDATION", `${label}: '${def.from}' does not exist on ${def.table}`);
        }
      });
    },
    async complete(ctx) {
      await ctx.step(`complete:${ctx.index}:rename_constraint`, async (c) => {
        if (!(await constraintExists(c, ctx.schema, table, def.from))) return;
        await c.query(
          `ALTER TABLE ${qualified(ctx.schema, table)} RENAME CONSTRAINT ${ident(def.from)} TO ${ident(def.to)}`,
        );
      });
    },
    async rollback() {},
    touches: () => [`${def.table}:constraint:${def.from}`],
  };
}
