/**
 * add_constraint (unique | foreign_key | check) without long strong locks:
 *  - unique: CREATE UNIQUE INDEX CONCURRENTLY at start, ADD CONSTRAINT …
 *    USING INDEX on complete (instant);
 *  - foreign_key / check: added NOT VALID at start (enforced for new writes
 *    from both versions at once, no scan), VALIDATE on complete (scans under
 *    SHARE UPDATE EXCLUSIVE, which blocks neither reads nor writes).
 * Verify counts existing rows that would fail validation, so a bad migration
 * is caught before the irreversible contract step.
 * Column names are the table's physical names as of the start.
 */
import { z } from "zod";
import { constraintExists } from "../catalog";
import { ident, qualified } from "../sql";
import { findColumn, findTable, MigrationError, type Operation, type PendingCheck } from "../types";
import { createIndexConcurrently, dropIndexConcurrently, Name, Sql } from "./common";

export const kind = "add_constraint";
export const schema = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("unique"), table: Name, name: Name, columns: z.array(Name).min(1) }),
  z.strictObject({
    type: z.literal("foreign_key"),
    table: Name,
    name: Name,
    columns: z.array(Name).min(1),
    references: z.strictObject({ table: Name, columns: z.array(Name).min(1) }),
    on_delete: z.enum(["NO ACTION", "RESTRICT", "CASCADE", "SET NULL", "SET DEFAULT"]).optional(),
  }),
  z.strictObject({ type: z.literal("check"), table: Name, name: Name, check: Sql }),
]);
export type AddConstraint = z.infer<typeof schema>;

export function create(def: AddConstraint): Operation {
  let table = def.table;
  let columns: string[] = [];
  let refTable = "";
  let refColumns: string[] = [];
  const label = `add_constraint ${def.type} ${def.name} on ${def.table}`;
  return {
    kind,
    describe: () => label,
    applyToModel(model) {
      const t = findTable(model, def.table, "add_constraint");
      table = t.physical;
      if (def.type !== "check") columns = def.columns.map((c) => findColumn(t, c, "add_constraint").physical);
      if (def.type === "foreign_key") {
        const r = findTable(model, def.references.table, "add_constraint");
        refTable = r.physical;
        refColumns = def.references.columns.map((c) => findColumn(r, c, "add_constraint").physical);
        if (refColumns.length !== columns.length) {
          throw new MigrationError("VALIDATION", `${label}: columns and references.columns differ in length`);
        }
      }
    },
    async start(ctx) {
      const tbl = qualified(ctx.schema, table);
      const cols = columns.map(ident).join(", ");
      if (def.type === "unique") {
        await ctx.stepOutsideTransaction(`start:${ctx.index}:add_constraint`, async (c) => {
          await createIndexConcurrently(
            c,
            ctx.schema,
            def.name,
            `CREATE UNIQUE INDEX CONCURRENTLY ${ident(def.name)} ON ${tbl} (${cols})`,
          );
        });
        return;
      }
      await ctx.step(`start:${ctx.index}:add_constraint`, async (c) => {
        if (def.type === "foreign_key") {
          await c.query(
            `ALTER TABLE ${tbl} ADD CONSTRAINT ${ident(def.name)} FOREIGN KEY (${cols})
               REFERENCES ${qualified(ctx.schema, refTable)} (${refColumns.map(ident).join(", ")})
               ${def.on_delete ? `ON DELETE ${def.on_delete}` : ""} NOT VALID`,
          );
        } else {
          await c.query(
            `ALTER TABLE ${tbl} ADD CONSTRAINT ${ident(def.name)} CHECK (${def.check}) NOT VALID`,
          );
        }
      });
    },
    pendingChecks(ctx): PendingCheck[] {
      const tbl = qualified(ctx.schema, table);
      if (def.type === "check") {
        return [{ name: label, sql: `SELECT count(*) AS violations FROM ${tbl} WHERE NOT (${def.check})` }];
      }
      if (def.type === "foreign_key") {
        const notNull = columns.map((c) => `t.${ident(c)} IS NOT NULL`).join(" AND ");
        const match = columns.map((c, i) => `r.${ident(refColumns[i] ?? c)} = t.${ident(c)}`).join(" AND ");
        return [
          {
            name: label,
            sql: `SELECT count(*) AS violations FROM ${tbl} t WHERE ${notNull}
                    AND NOT EXISTS (SELECT 1 FROM ${qualified(ctx.schema, refTable)} r WHERE ${match})`,
          },
        ];
      }
      return [];
    },
    async complete(ctx) {
      const tbl = qualified(ctx.schema, table);
      await ctx.step(`complete:${ctx.index}:add_constraint`, async (c) => {
        if (def.type === "unique") {
          if (!(await constraintExists(c, ctx.schema, table, def.name))) {
            await c.query(
              `ALTER TABLE ${tbl} ADD CONSTRAINT ${ident(def.name)} UNIQUE USING INDEX ${ident(def.name)}`,
            );
          }
        } else {
          await c.query(`ALTER TABLE ${tbl} VALIDATE CONSTRAINT ${ident(def.name)}`);
        }
      });
    },
    async rollback(ctx) {
      if (def.type === "unique") {
        await ctx.stepOutsideTransaction(`rollback:${ctx.index}:add_constraint`, async (c) => {
          await dropIndexConcurrently(c, ctx.schema, def.name);
        });
        return;
      }
      await ctx.step(`rollback:${ctx.index}:add_constraint`, async (c) => {
        await c.query(
          `ALTER TABLE ${qualified(ctx.schema, table)} DROP CONSTRAINT IF EXISTS ${ident(def.name)}`,
        );
      });
    },
  };
}
