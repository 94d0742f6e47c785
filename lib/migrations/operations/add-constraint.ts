/**
 * add_constraint (unique | foreign_key | check) without long strong locks:
 *  - unique: CREATE UNIQUE INDEX CONCURRENTLY at start, ADD CONSTRAINT …
 *    USING INDEX on complete (instant);
 *  - foreign_key / check: added NOT VALID at start (enforced for new writes
 *    from both versions at once, no scan), VALIDATE on complete while the
 *    migration is still active (scans under SHARE UPDATE EXCLUSIVE, which
 *    blocks neither reads nor writes).
 * Columns, and the names in a check, are those the version sees at the
 * operation's place in the migration, bound to the columns that back them
 * in the new version: a check on a column this migration shadows lands on
 * the shadow, whatever the order of the two operations (start builds it
 * once the shadow exists). Verify counts existing rows that would fail
 * validation, so a bad migration is caught before the contract step.
 */
import type { PoolClient } from "pg";
import { z } from "zod";
import { constraintExists } from "../catalog";
import { bindingsAt, withLogicalNames } from "../logical-names";
import { ident, qualified } from "../sql";
import { findColumn, findTable, MigrationError, type OpContext, type Operation } from "../types";
import { createIndexConcurrently, dropIndexConcurrently, finalColumn, Name, Sql } from "./common";
import { refuseTakenName } from "./taken-name";

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

/** A foreign key or a check, NOT VALID: enforced from now on, existing rows checked on complete. */
async function addNotValid(
  c: PoolClient,
  ctx: OpContext,
  def: AddConstraint,
  at: { table: string; columns: string[]; refTable: string; refColumns: string[] },
): Promise<void> {
  const tbl = qualified(ctx.schema, at.table);
  if (def.type === "foreign_key") {
    await c.query(
      `ALTER TABLE ${tbl} ADD CONSTRAINT ${ident(def.name)} FOREIGN KEY (${at.columns.map(ident).join(", ")})
         REFERENCES ${qualified(ctx.schema, at.refTable)} (${at.refColumns.map(ident).join(", ")})
         ${def.on_delete ? `ON DELETE ${def.on_delete}` : ""} NOT VALID`,
    );
  } else if (def.type === "check") {
    await withLogicalNames(c, ctx.schema, at.table, bindingsAt(ctx, def.table, kind), () =>
      c.query(`ALTER TABLE ${tbl} ADD CONSTRAINT ${ident(def.name)} CHECK (${def.check}) NOT VALID`),
    );
  }
}

export function create(def: AddConstraint): Operation {
  let table = def.table;
  let columns: string[] = [];
  let refTable = "";
  let refColumns: string[] = [];
  const label = `add_constraint ${def.type} ${def.name} on ${def.table}`;
  const cols = (ctx: OpContext) => columns.map((c) => finalColumn(ctx, table, c, label));
  const refCols = (ctx: OpContext) => refColumns.map((c) => finalColumn(ctx, refTable, c, label));
  const buildIndex = (ctx: OpContext) => (c: PoolClient) =>
    createIndexConcurrently(
      c,
      ctx.schema,
      def.name,
      `CREATE UNIQUE INDEX CONCURRENTLY ${ident(def.name)} ON ${qualified(ctx.schema, table)} (${cols(ctx).map(ident).join(", ")})`,
    );
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
    preflight: (c, p) =>
      refuseTakenName(c, p, { table, name: def.name, relation: def.type === "unique", label }),
    needs(ctx) {
      if (def.type === "check") return bindingsAt(ctx, def.table, kind).map((b) => `${table}.${b.physical}`);
      return [...cols(ctx).map((c) => `${table}.${c}`), ...refCols(ctx).map((c) => `${refTable}.${c}`)];
    },
    async start(ctx) {
      if (def.type === "unique") {
        await ctx.stepOutsideTransaction(`start:${ctx.index}:add_constraint`, buildIndex(ctx));
        return;
      }
      await ctx.step(`start:${ctx.index}:add_constraint`, (c) =>
        addNotValid(c, ctx, def, { table, columns: cols(ctx), refTable, refColumns: refCols(ctx) }),
      );
    },
    pendingChecks: () => (def.type === "unique" ? [] : [{ name: label, table, constraint: def.name }]),
    async prepareComplete(ctx) {
      // An index that went missing or INVALID since start is built again here, while rollback is still possible.
      if (def.type === "unique") {
        await ctx.stepOutsideTransaction(`validate:${ctx.index}:add_constraint`, buildIndex(ctx));
        return;
      }
      await ctx.step(`validate:${ctx.index}:add_constraint`, async (c) => {
        await c.query(`ALTER TABLE ${qualified(ctx.schema, table)} VALIDATE CONSTRAINT ${ident(def.name)}`);
      });
    },
    async complete(ctx) {
      if (def.type !== "unique") return;
      await ctx.step(`complete:${ctx.index}:add_constraint`, async (c) => {
        if (!(await constraintExists(c, ctx.schema, table, def.name))) {
          await c.query(
            `ALTER TABLE ${qualified(ctx.schema, table)} ADD CONSTRAINT ${ident(def.name)} UNIQUE USING INDEX ${ident(def.name)}`,
          );
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
