/**
 * add_column: the column is added under its final name, nullable, so the old
 * version's inserts (which never name it) keep working:
 *  - NOT NULL without a default needs `up` (a value computed from the old
 *    version's columns); a trigger fills it on the old version's writes and
 *    the backfill fills existing rows; a NOT VALID `CHECK (col IS NOT NULL)`
 *    guards it, and complete validates it and turns it into NOT NULL without
 *    a second table scan.
 *  - a default PostgreSQL can store once (a constant, now()) is added with
 *    the column, which touches no row. A default that would rewrite the
 *    table (random(), gen_random_uuid(): one value per row) is not: the
 *    column is added bare, the trigger and the backfill fill it the way
 *    `up` would, the new version's view carries the default for its inserts,
 *    and complete sets it on the table (a catalog change).
 *  - unique: built with CREATE UNIQUE INDEX CONCURRENTLY, attached as a
 *    constraint on complete.
 *  - references / check: added NOT VALID (no scan under a strong lock),
 *    validated on complete.
 * Rollback renames the column aside (data kept), and drops what would bother
 * the old version: NOT NULL, default, constraints, the index.
 */
import type { PoolClient } from "pg";
import { z } from "zod";
import { columnExists, columnTypes, constraintExists, indexState } from "../catalog";
import { bindingsAt, withLogicalNames } from "../logical-names";
import { asideName, ident, notNullCheckName, qualified, triggerName } from "../sql";
import { findTable, MigrationError, type OpContext, type Operation, type PendingCheck } from "../types";
import {
  ColumnDef,
  checkName,
  createIndexConcurrently,
  dropIndexConcurrently,
  fkName,
  referencesSql,
  Sql,
  uniqueName,
} from "./common";
import { defaultRewritesTable } from "./default-rewrite";
import { assignBlock, BACKFILLING, dropTrigger, installTrigger } from "./triggers";

export const kind = "add_column";
export const schema = z.strictObject({
  table: z.string().min(1),
  column: ColumnDef.omit({ primary_key: true }).extend({ up: Sql.optional() }),
});
export type AddColumn = z.infer<typeof schema>;

export function create(def: AddColumn): Operation {
  const col = def.column;
  let table = def.table;
  const where = () => `add_column ${def.table}.${col.name}`;
  const tbl = (ctx: OpContext) => qualified(ctx.schema, table);
  /** Whether the default waits for complete (see the module comment); asked once per command. */
  let deferred: Promise<boolean> | undefined;
  const deferDefault = (ctx: OpContext, c?: PoolClient) => {
    const dflt = col.default;
    if (dflt === undefined) return Promise.resolve(false);
    deferred ??= c
      ? defaultRewritesTable(c, col.type, dflt)
      : ctx.inspect((x) => defaultRewritesTable(x, col.type, dflt));
    return deferred;
  };
  /** What fills the column on the old version's writes and in the backfill, if anything. */
  const fill = async (ctx: OpContext) => col.up ?? ((await deferDefault(ctx)) ? col.default : undefined);
  const guardedNotNull = async (ctx: OpContext) =>
    !col.nullable && (col.default === undefined || (await deferDefault(ctx)));

  const names = (ctx: OpContext) => ({
    trigger: triggerName(ctx.migrationId, ctx.index, table),
    nn: notNullCheckName(ctx.migrationId, col.name),
    unique: uniqueName(table, col.name),
    fk: fkName(table, col.name),
    check: checkName(table, col.name),
  });

  async function addColumn(ctx: OpContext, c: PoolClient) {
    const inline = col.default !== undefined && !(await deferDefault(ctx, c));
    const dflt = inline ? ` DEFAULT ${col.default}` : "";
    const notNull = inline && !col.nullable ? " NOT NULL" : "";
    await c.query(`ALTER TABLE ${tbl(ctx)} ADD COLUMN ${ident(col.name)} ${col.type}${dflt}${notNull}`);
  }

  async function installFill(ctx: OpContext, c: PoolClient, expression: string) {
    const types = await columnTypes(c, ctx.schema, table);
    const before = findTable(ctx.before, def.table, kind);
    const block = assignBlock(col.name, { expression, columns: before.columns }, types);
    await installTrigger(c, {
      schema: ctx.schema,
      table,
      name: names(ctx).trigger,
      body: `IF NEW.${ident(col.name)} IS NULL AND (TG_OP = 'INSERT' OR ${BACKFILLING}) THEN ${block} END IF;`,
    });
  }

  async function addConstraints(ctx: OpContext) {
    const n = names(ctx);
    if (await guardedNotNull(ctx)) {
      await ctx.step(`start:${ctx.index}:add_column:not_null`, async (c) => {
        await c.query(
          `ALTER TABLE ${tbl(ctx)} ADD CONSTRAINT ${ident(n.nn)} CHECK (${ident(col.name)} IS NOT NULL) NOT VALID`,
        );
      });
    }
    if (col.unique) {
      await ctx.stepOutsideTransaction(`start:${ctx.index}:add_column:unique`, (c) => uniqueIndex(ctx, c));
    }
    const refs = col.references;
    if (refs) {
      await ctx.step(`start:${ctx.index}:add_column:fk`, async (c) => {
        await c.query(
          `ALTER TABLE ${tbl(ctx)} ADD CONSTRAINT ${ident(n.fk)} FOREIGN KEY (${ident(col.name)}) ${referencesSql(ctx.schema, ctx.before, refs, where())} NOT VALID`,
        );
      });
    }
    const check = col.check;
    if (check) {
      await ctx.step(`start:${ctx.index}:add_column:check`, async (c) => {
        await withLogicalNames(c, ctx.schema, table, bindingsAt(ctx, def.table, kind), () =>
          c.query(`ALTER TABLE ${tbl(ctx)} ADD CONSTRAINT ${ident(n.check)} CHECK (${check}) NOT VALID`),
        );
      });
    }
  }

  const uniqueIndex = (ctx: OpContext, c: PoolClient) =>
    createIndexConcurrently(
      c,
      ctx.schema,
      names(ctx).unique,
      `CREATE UNIQUE INDEX CONCURRENTLY ${ident(names(ctx).unique)} ON ${tbl(ctx)} (${ident(col.name)})`,
    );

  return {
    kind,
    describe: () => `add column ${def.table}.${col.name} ${col.type}`,
    applyToModel(model) {
      const t = findTable(model, def.table, kind);
      if (t.columns.some((c) => c.name === col.name)) {
        throw new MigrationError("VALIDATION", `${where()}: column already exists`);
      }
      if (!col.nullable && col.default === undefined && !col.up) {
        throw new MigrationError(
          "VALIDATION",
          `${where()}: a NOT NULL column without a default needs 'up' (its value for existing rows and the old version's writes)`,
        );
      }
      table = t.physical;
      t.columns.push({ name: col.name, physical: col.name });
      // The new version's inserts get the default from its view whether or not the table has it yet.
      if (col.default !== undefined) t.defaults = { ...t.defaults, [col.name]: col.default };
    },
    async start(ctx) {
      await ctx.step(`start:${ctx.index}:add_column`, (c) => addColumn(ctx, c));
      const expression = await fill(ctx);
      if (expression !== undefined) {
        await ctx.step(`start:${ctx.index}:add_column:trigger`, (c) => installFill(ctx, c, expression));
      }
      await addConstraints(ctx);
    },
    backfill: async (ctx) => ((await fill(ctx)) !== undefined ? { table, touchColumn: col.name } : undefined),
    async dualWrites(ctx) {
      const expression = await fill(ctx);
      if (expression === undefined) return [];
      return [
        {
          label: `${def.table}.${col.name}`,
          table,
          old: null,
          new: { name: col.name, physical: col.name },
          up: { expression, columns: findTable(ctx.before, def.table, kind).columns },
          lossless: false,
          newNotNullCheck: names(ctx).nn,
        },
      ];
    },
    pendingChecks(ctx) {
      const n = names(ctx);
      const out: PendingCheck[] = [{ name: `${where()} NOT NULL`, table, constraint: n.nn }];
      if (col.check) out.push({ name: `${where()} CHECK`, table, constraint: n.check });
      if (col.references)
        out.push({ name: `${where()} REFERENCES ${col.references.table}`, table, constraint: n.fk });
      return out;
    },
    async prepareComplete(ctx) {
      const n = names(ctx);
      // VALIDATE takes SHARE UPDATE EXCLUSIVE: it scans without blocking reads or writes.
      await ctx.step(`validate:${ctx.index}:add_column`, async (c) => {
        for (const name of [n.nn, n.fk, n.check]) {
          if (await constraintExists(c, ctx.schema, table, name)) {
            await c.query(`ALTER TABLE ${tbl(ctx)} VALIDATE CONSTRAINT ${ident(name)}`);
          }
        }
      });
      if (col.unique) {
        await ctx.stepOutsideTransaction(`validate:${ctx.index}:add_column:unique`, (c) =>
          uniqueIndex(ctx, c),
        );
      }
    },
    complete: (ctx) => ctx.step(`complete:${ctx.index}:add_column:finalize`, (c) => finalize(ctx, c)),
    rollback: (ctx) => rollback(ctx),
    touches: () => [`${def.table}.${col.name}`],
  };

  async function finalize(ctx: OpContext, c: PoolClient) {
    const n = names(ctx);
    await dropTrigger(c, ctx.schema, table, n.trigger);
    if (await constraintExists(c, ctx.schema, table, n.nn)) {
      // SET NOT NULL uses the validated CHECK instead of scanning (PostgreSQL 12+).
      await c.query(`ALTER TABLE ${tbl(ctx)} ALTER COLUMN ${ident(col.name)} SET NOT NULL`);
      await c.query(`ALTER TABLE ${tbl(ctx)} DROP CONSTRAINT ${ident(n.nn)}`);
    }
    if (col.unique && !(await constraintExists(c, ctx.schema, table, n.unique))) {
      await c.query(
        `ALTER TABLE ${tbl(ctx)} ADD CONSTRAINT ${ident(n.unique)} UNIQUE USING INDEX ${ident(n.unique)}`,
      );
    }
    // A catalog change only: rows already hold their values (from the backfill, when the default waited).
    if (col.default !== undefined) {
      await c.query(`ALTER TABLE ${tbl(ctx)} ALTER COLUMN ${ident(col.name)} SET DEFAULT ${col.default}`);
    }
  }

  async function rollback(ctx: OpContext) {
    const n = names(ctx);
    if (col.unique) {
      await ctx.stepOutsideTransaction(`rollback:${ctx.index}:add_column:unique`, async (c) => {
        await dropIndexConcurrently(c, ctx.schema, n.unique);
      });
    }
    await ctx.step(`rollback:${ctx.index}:add_column`, async (c) => {
      await dropTrigger(c, ctx.schema, table, n.trigger);
      for (const name of [n.nn, n.fk, n.check, n.unique]) {
        await c.query(`ALTER TABLE ${tbl(ctx)} DROP CONSTRAINT IF EXISTS ${ident(name)}`);
      }
      if ((await indexState(c, ctx.schema, n.unique)).exists) {
        await c.query(`DROP INDEX ${qualified(ctx.schema, n.unique)}`);
      }
      if (!(await columnExists(c, ctx.schema, table, col.name))) return;
      const aside = asideName(ctx.migrationId, col.name);
      await c.query(`ALTER TABLE ${tbl(ctx)} ALTER COLUMN ${ident(col.name)} DROP DEFAULT`);
      await c.query(`ALTER TABLE ${tbl(ctx)} ALTER COLUMN ${ident(col.name)} DROP NOT NULL`);
      await c.query(`ALTER TABLE ${tbl(ctx)} RENAME COLUMN ${ident(col.name)} TO ${ident(aside)}`);
      await ctx.recordAside(c, { kind: "column", table, column: aside, originalName: col.name });
    });
  }
}
