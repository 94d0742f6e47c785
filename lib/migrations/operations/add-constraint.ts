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
 *
 * primary_key: the same unique index, built CONCURRENTLY at start, plus a
 * NOT VALID `CHECK (col IS NOT NULL)` per key column (so both versions stop
 * writing NULLs there without a scan); complete validates the checks while
 * the migration is still active, then SET NOT NULL (which uses the validated
 * check instead of scanning) and ADD PRIMARY KEY USING INDEX, both catalog
 * changes. A table that already has a primary key is refused at start.
 *
 * exclude: PostgreSQL (15) can neither build an exclusion constraint
 * CONCURRENTLY nor add it NOT VALID: ADD CONSTRAINT … EXCLUDE builds its
 * index while holding ACCESS EXCLUSIVE on the table, so reads and writes of
 * both versions wait for the whole build. Start does it in one step (its
 * lock wait is bounded by lock_timeout, the build is not); keep it for
 * small tables or a quiet moment. Rollback drops it.
 *
 * `include` (unique, primary_key, exclude) adds non-key columns to the
 * index (INCLUDE), for index-only scans.
 */
import type { PoolClient } from "pg";
import { z } from "zod";
import { constraintExists, tableExists } from "../catalog";
import { bindingsAt, withLogicalNames } from "../logical-names";
import { ident, pgName, qualified } from "../sql";
import {
  findColumn,
  findTable,
  MigrationError,
  type OpContext,
  type Operation,
  type Queryable,
} from "../types";
import {
  createIndexConcurrently,
  dropIndexConcurrently,
  FkOptions,
  finalColumn,
  fkClauses,
  Name,
  Sql,
} from "./common";
import { refuseTakenName } from "./taken-name";

export const kind = "add_constraint";
/** An operator of an EXCLUDE element (`=`, `&&`, `<->`…); anything else is refused, not quoted. */
const Operator = z.string().regex(/^[-+*/<>=~!@#%^&|`?]+$/, "an operator such as = or &&");

const ExcludeElement = z
  .strictObject({ column: Name.optional(), expression: Sql.optional(), operator: Operator })
  .refine(
    (e) => (e.column === undefined) !== (e.expression === undefined),
    "give either column or expression",
  );

export const schema = z.discriminatedUnion("type", [
  z.strictObject({
    type: z.literal("unique"),
    table: Name,
    name: Name,
    columns: z.array(Name).min(1),
    include: z.array(Name).min(1).optional(),
  }),
  z.strictObject({
    type: z.literal("primary_key"),
    table: Name,
    name: Name,
    columns: z.array(Name).min(1),
    include: z.array(Name).min(1).optional(),
  }),
  z.strictObject({
    type: z.literal("exclude"),
    table: Name,
    name: Name,
    using: z.enum(["gist", "btree", "hash", "spgist"]).default("gist"),
    elements: z.array(ExcludeElement).min(1),
    include: z.array(Name).min(1).optional(),
    where: Sql.optional(),
  }),
  z.strictObject({
    type: z.literal("foreign_key"),
    table: Name,
    name: Name,
    columns: z.array(Name).min(1),
    references: z.strictObject({ table: Name, columns: z.array(Name).min(1) }),
    ...FkOptions,
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
         ${fkClauses(def)} NOT VALID`,
    );
  } else if (def.type === "check") {
    await withLogicalNames(c, ctx.schema, at.table, bindingsAt(ctx, def.table, kind), () =>
      c.query(`ALTER TABLE ${tbl} ADD CONSTRAINT ${ident(def.name)} CHECK (${def.check}) NOT VALID`),
    );
  }
}

/** The NOT VALID check standing in for NOT NULL on a primary key column until complete. */
const pkNotNullName = (migrationId: number, column: string) => pgName(`_ss_pk${migrationId}_${column}`);

async function hasOtherPrimaryKey(c: Queryable, schema: string, table: string, name: string) {
  const r = await c.query<{ name: string }>(
    `SELECT co.conname AS name FROM pg_constraint co JOIN pg_class cl ON cl.oid = co.conrelid
       JOIN pg_namespace n ON n.oid = cl.relnamespace WHERE n.nspname = $1 AND cl.relname = $2 AND co.contype = 'p'`,
    [schema, table],
  );
  return r.rows.find((x) => x.name !== name)?.name;
}

export function create(def: AddConstraint): Operation {
  let table = def.table;
  let columns: string[] = [];
  let include: string[] = [];
  let refTable = "";
  let refColumns: string[] = [];
  const label = `add_constraint ${def.type} ${def.name} on ${def.table}`;
  const indexed = def.type === "unique" || def.type === "primary_key";
  const cols = (ctx: OpContext) => columns.map((c) => finalColumn(ctx, table, c, label));
  const included = (ctx: OpContext) => {
    const out = include.map((c) => finalColumn(ctx, table, c, label));
    return out.length ? ` INCLUDE (${out.map(ident).join(", ")})` : "";
  };
  const refCols = (ctx: OpContext) => refColumns.map((c) => finalColumn(ctx, refTable, c, label));
  const pkChecks = (ctx: OpContext) =>
    def.type === "primary_key"
      ? cols(ctx).map((c) => ({ column: c, check: pkNotNullName(ctx.migrationId, c) }))
      : [];
  const buildIndex = (ctx: OpContext) => (c: PoolClient) =>
    createIndexConcurrently(
      c,
      ctx.schema,
      def.name,
      `CREATE UNIQUE INDEX CONCURRENTLY ${ident(def.name)} ON ${qualified(ctx.schema, table)} (${cols(ctx).map(ident).join(", ")})${included(ctx)}`,
    );
  const exclude = async (ctx: OpContext, c: PoolClient): Promise<void> => {
    if (def.type !== "exclude") return;
    // Written with the names the version sees; PostgreSQL binds them to the physical columns.
    const elements = def.elements
      .map((e) => `${e.column !== undefined ? ident(e.column) : `(${e.expression})`} WITH ${e.operator}`)
      .join(", ");
    const inc = def.include?.length ? ` INCLUDE (${def.include.map(ident).join(", ")})` : "";
    const where = def.where ? ` WHERE (${def.where})` : "";
    await withLogicalNames(c, ctx.schema, table, bindingsAt(ctx, def.table, kind), () =>
      c.query(
        `ALTER TABLE ${qualified(ctx.schema, table)} ADD CONSTRAINT ${ident(def.name)}
           EXCLUDE USING ${def.using} (${elements})${inc}${where}`,
      ),
    );
  };
  return {
    kind,
    describe: () => label,
    applyToModel(model) {
      const t = findTable(model, def.table, "add_constraint");
      table = t.physical;
      if (def.type === "unique" || def.type === "primary_key" || def.type === "foreign_key") {
        columns = def.columns.map((c) => findColumn(t, c, "add_constraint").physical);
      }
      if (def.type !== "check" && def.type !== "foreign_key") {
        include = (def.include ?? []).map((c) => findColumn(t, c, "add_constraint").physical);
      }
      if (def.type === "exclude") {
        for (const e of def.elements) if (e.column !== undefined) findColumn(t, e.column, "add_constraint");
      }
      if (def.type === "foreign_key") {
        const r = findTable(model, def.references.table, "add_constraint");
        refTable = r.physical;
        refColumns = def.references.columns.map((c) => findColumn(r, c, "add_constraint").physical);
        if (refColumns.length !== columns.length) {
          throw new MigrationError("VALIDATION", `${label}: columns and references.columns differ in length`);
        }
      }
    },
    async preflight(c, p) {
      await refuseTakenName(c, p, {
        table,
        name: def.name,
        relation: indexed || def.type === "exclude",
        label,
      });
      if (def.type === "primary_key") {
        const other = await hasOtherPrimaryKey(c, p.schema, table, def.name);
        if (other) {
          throw new MigrationError(
            "VALIDATION",
            `${label}: ${def.table} already has primary key ${other}; drop it in an earlier migration`,
          );
        }
      }
    },
    needs(ctx) {
      if (def.type === "check" || def.type === "exclude") {
        return bindingsAt(ctx, def.table, kind).map((b) => `${table}.${b.physical}`);
      }
      return [...cols(ctx).map((c) => `${table}.${c}`), ...refCols(ctx).map((c) => `${refTable}.${c}`)];
    },
    async start(ctx) {
      for (const { column, check } of pkChecks(ctx)) {
        await ctx.step(`start:${ctx.index}:add_constraint:not_null:${column}`, async (c) => {
          if (await constraintExists(c, ctx.schema, table, check)) return;
          await c.query(
            `ALTER TABLE ${qualified(ctx.schema, table)} ADD CONSTRAINT ${ident(check)} CHECK (${ident(column)} IS NOT NULL) NOT VALID`,
          );
        });
      }
      if (indexed) {
        await ctx.stepOutsideTransaction(`start:${ctx.index}:add_constraint`, buildIndex(ctx));
        return;
      }
      await ctx.step(`start:${ctx.index}:add_constraint`, (c) =>
        def.type === "exclude"
          ? exclude(ctx, c)
          : addNotValid(c, ctx, def, { table, columns: cols(ctx), refTable, refColumns: refCols(ctx) }),
      );
    },
    pendingChecks(ctx) {
      if (def.type === "unique" || def.type === "exclude") return [];
      if (def.type === "primary_key") {
        return pkChecks(ctx).map(({ column, check }) => ({
          name: `${label}: ${column} NOT NULL`,
          table,
          constraint: check,
        }));
      }
      return [{ name: label, table, constraint: def.name }];
    },
    async prepareComplete(ctx) {
      if (def.type === "exclude") return;
      if (def.type === "primary_key") {
        await ctx.step(`validate:${ctx.index}:add_constraint:not_null`, async (c) => {
          const other = await hasOtherPrimaryKey(c, ctx.schema, table, def.name);
          if (other)
            throw new MigrationError("VALIDATION", `${label}: ${def.table} has primary key ${other}`);
          for (const { check } of pkChecks(ctx)) {
            if (await constraintExists(c, ctx.schema, table, check)) {
              await c.query(
                `ALTER TABLE ${qualified(ctx.schema, table)} VALIDATE CONSTRAINT ${ident(check)}`,
              );
            }
          }
        });
      }
      // An index that went missing or INVALID since start is built again here, while rollback is still possible.
      if (indexed) {
        await ctx.stepOutsideTransaction(`validate:${ctx.index}:add_constraint`, buildIndex(ctx));
        return;
      }
      await ctx.step(`validate:${ctx.index}:add_constraint`, async (c) => {
        await c.query(`ALTER TABLE ${qualified(ctx.schema, table)} VALIDATE CONSTRAINT ${ident(def.name)}`);
      });
    },
    async complete(ctx) {
      if (!indexed) return;
      await ctx.step(`complete:${ctx.index}:add_constraint`, async (c) => {
        const tbl = qualified(ctx.schema, table);
        for (const { column, check } of pkChecks(ctx)) {
          if (!(await constraintExists(c, ctx.schema, table, check))) continue;
          // Uses the validated check instead of scanning the table.
          await c.query(`ALTER TABLE ${tbl} ALTER COLUMN ${ident(column)} SET NOT NULL`);
          await c.query(`ALTER TABLE ${tbl} DROP CONSTRAINT ${ident(check)}`);
        }
        if (!(await constraintExists(c, ctx.schema, table, def.name))) {
          const what = def.type === "primary_key" ? "PRIMARY KEY" : "UNIQUE";
          await c.query(
            `ALTER TABLE ${tbl} ADD CONSTRAINT ${ident(def.name)} ${what} USING INDEX ${ident(def.name)}`,
          );
        }
      });
    },
    async rollback(ctx) {
      if (indexed) {
        await ctx.stepOutsideTransaction(`rollback:${ctx.index}:add_constraint`, async (c) => {
          await dropIndexConcurrently(c, ctx.schema, def.name);
        });
        if (def.type === "unique") return;
      }
      await ctx.step(`rollback:${ctx.index}:add_constraint${indexed ? ":not_null" : ""}`, async (c) => {
        // A start that stopped early may not have created the table (an earlier create_table).
        if (!(await tableExists(c, ctx.schema, table))) return;
        const tbl = qualified(ctx.schema, table);
        for (const { check } of pkChecks(ctx)) {
          await c.query(`ALTER TABLE ${tbl} DROP CONSTRAINT IF EXISTS ${ident(check)}`);
        }
        if (def.type !== "primary_key") {
          await c.query(`ALTER TABLE ${tbl} DROP CONSTRAINT IF EXISTS ${ident(def.name)}`);
        }
      });
    },
  };
}
