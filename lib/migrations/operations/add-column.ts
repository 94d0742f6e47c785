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

/** One add_column of a migration: its definition, and what applyToModel and start learned. */
interface Column {
  def: AddColumn;
  col: AddColumn["column"];
  /** Physical table (known after applyToModel). */
  table: string;
  /** Whether the default waits for complete (see the module comment); asked once per command. */
  deferred?: Promise<boolean>;
}

const where = (s: Column) => `add_column ${s.def.table}.${s.col.name}`;
const tbl = (s: Column, ctx: OpContext) => qualified(ctx.schema, s.table);

const names = (s: Column, ctx: OpContext) => ({
  trigger: triggerName(ctx.migrationId, ctx.index, s.table),
  nn: notNullCheckName(ctx.migrationId, s.col.name),
  unique: uniqueName(s.table, s.col.name),
  fk: fkName(s.table, s.col.name),
  check: checkName(s.table, s.col.name),
});

/** Inside a step, `c` answers; outside, a rolled-back inspection does. */
function deferDefault(s: Column, ctx: OpContext, c?: PoolClient): Promise<boolean> {
  const dflt = s.col.default;
  if (dflt === undefined) return Promise.resolve(false);
  s.deferred ??= c
    ? defaultRewritesTable(c, s.col.type, dflt)
    : ctx.inspect((x) => defaultRewritesTable(x, s.col.type, dflt));
  return s.deferred;
}

/** What fills the column on the old version's writes and in the backfill, if anything. */
async function fill(s: Column, ctx: OpContext): Promise<string | undefined> {
  return s.col.up ?? ((await deferDefault(s, ctx)) ? s.col.default : undefined);
}

async function addColumn(s: Column, ctx: OpContext, c: PoolClient) {
  const { col } = s;
  const inline = col.default !== undefined && !(await deferDefault(s, ctx, c));
  const dflt = inline ? ` DEFAULT ${col.default}` : "";
  const notNull = inline && !col.nullable ? " NOT NULL" : "";
  await c.query(`ALTER TABLE ${tbl(s, ctx)} ADD COLUMN ${ident(col.name)} ${col.type}${dflt}${notNull}`);
}

async function installFill(s: Column, ctx: OpContext, c: PoolClient, expression: string) {
  const types = await columnTypes(c, ctx.schema, s.table);
  const before = findTable(ctx.before, s.def.table, kind);
  const block = assignBlock(s.col.name, { expression, columns: before.columns }, types);
  await installTrigger(c, {
    schema: ctx.schema,
    table: s.table,
    name: names(s, ctx).trigger,
    body: `IF NEW.${ident(s.col.name)} IS NULL AND (TG_OP = 'INSERT' OR ${BACKFILLING}) THEN ${block} END IF;`,
  });
}

const uniqueIndex = (s: Column, ctx: OpContext, c: PoolClient) =>
  createIndexConcurrently(
    c,
    ctx.schema,
    names(s, ctx).unique,
    `CREATE UNIQUE INDEX CONCURRENTLY ${ident(names(s, ctx).unique)} ON ${tbl(s, ctx)} (${ident(s.col.name)})`,
  );

async function addConstraints(s: Column, ctx: OpContext) {
  const { col } = s;
  const n = names(s, ctx);
  if (!col.nullable && (col.default === undefined || (await deferDefault(s, ctx)))) {
    await ctx.step(`start:${ctx.index}:add_column:not_null`, async (c) => {
      await c.query(
        `ALTER TABLE ${tbl(s, ctx)} ADD CONSTRAINT ${ident(n.nn)} CHECK (${ident(col.name)} IS NOT NULL) NOT VALID`,
      );
    });
  }
  if (col.unique) {
    await ctx.stepOutsideTransaction(`start:${ctx.index}:add_column:unique`, (c) => uniqueIndex(s, ctx, c));
  }
  const refs = col.references;
  if (refs) {
    await ctx.step(`start:${ctx.index}:add_column:fk`, async (c) => {
      await c.query(
        `ALTER TABLE ${tbl(s, ctx)} ADD CONSTRAINT ${ident(n.fk)} FOREIGN KEY (${ident(col.name)}) ${referencesSql(ctx.schema, ctx.before, refs, where(s))} NOT VALID`,
      );
    });
  }
  const check = col.check;
  if (check) {
    await ctx.step(`start:${ctx.index}:add_column:check`, async (c) => {
      await withLogicalNames(c, ctx.schema, s.table, bindingsAt(ctx, s.def.table, kind), () =>
        c.query(`ALTER TABLE ${tbl(s, ctx)} ADD CONSTRAINT ${ident(n.check)} CHECK (${check}) NOT VALID`),
      );
    });
  }
}

async function prepareComplete(s: Column, ctx: OpContext) {
  const n = names(s, ctx);
  // VALIDATE takes SHARE UPDATE EXCLUSIVE: it scans without blocking reads or writes.
  await ctx.step(`validate:${ctx.index}:add_column`, async (c) => {
    for (const name of [n.nn, n.fk, n.check]) {
      if (await constraintExists(c, ctx.schema, s.table, name)) {
        await c.query(`ALTER TABLE ${tbl(s, ctx)} VALIDATE CONSTRAINT ${ident(name)}`);
      }
    }
  });
  if (s.col.unique) {
    await ctx.stepOutsideTransaction(`validate:${ctx.index}:add_column:unique`, (c) =>
      uniqueIndex(s, ctx, c),
    );
  }
}

async function finalize(s: Column, ctx: OpContext, c: PoolClient) {
  const { col } = s;
  const n = names(s, ctx);
  await dropTrigger(c, ctx.schema, s.table, n.trigger);
  if (await constraintExists(c, ctx.schema, s.table, n.nn)) {
    // SET NOT NULL uses the validated CHECK instead of scanning (PostgreSQL 12+).
    await c.query(`ALTER TABLE ${tbl(s, ctx)} ALTER COLUMN ${ident(col.name)} SET NOT NULL`);
    await c.query(`ALTER TABLE ${tbl(s, ctx)} DROP CONSTRAINT ${ident(n.nn)}`);
  }
  if (col.unique && !(await constraintExists(c, ctx.schema, s.table, n.unique))) {
    await c.query(
      `ALTER TABLE ${tbl(s, ctx)} ADD CONSTRAINT ${ident(n.unique)} UNIQUE USING INDEX ${ident(n.unique)}`,
    );
  }
  // A catalog change only: rows already hold their values (from the backfill, when the default waited).
  if (col.default !== undefined) {
    await c.query(`ALTER TABLE ${tbl(s, ctx)} ALTER COLUMN ${ident(col.name)} SET DEFAULT ${col.default}`);
  }
}

async function rollback(s: Column, ctx: OpContext) {
  const n = names(s, ctx);
  if (s.col.unique) {
    await ctx.stepOutsideTransaction(`rollback:${ctx.index}:add_column:unique`, async (c) => {
      await dropIndexConcurrently(c, ctx.schema, n.unique);
    });
  }
  await ctx.step(`rollback:${ctx.index}:add_column`, async (c) => {
    const column = ident(s.col.name);
    await dropTrigger(c, ctx.schema, s.table, n.trigger);
    for (const name of [n.nn, n.fk, n.check, n.unique]) {
      await c.query(`ALTER TABLE ${tbl(s, ctx)} DROP CONSTRAINT IF EXISTS ${ident(name)}`);
    }
    if ((await indexState(c, ctx.schema, n.unique)).exists) {
      await c.query(`DROP INDEX ${qualified(ctx.schema, n.unique)}`);
    }
    if (!(await columnExists(c, ctx.schema, s.table, s.col.name))) return;
    const aside = asideName(ctx.migrationId, s.col.name);
    await c.query(`ALTER TABLE ${tbl(s, ctx)} ALTER COLUMN ${column} DROP DEFAULT`);
    await c.query(`ALTER TABLE ${tbl(s, ctx)} ALTER COLUMN ${column} DROP NOT NULL`);
    await c.query(`ALTER TABLE ${tbl(s, ctx)} RENAME COLUMN ${column} TO ${ident(aside)}`);
    await ctx.recordAside(c, { kind: "column", table: s.table, column: aside, originalName: s.col.name });
  });
}

export function create(def: AddColumn): Operation {
  const s: Column = { def, col: def.column, table: def.table };
  const { col } = s;
  return {
    kind,
    describe: () => `add column ${def.table}.${col.name} ${col.type}`,
    applyToModel(model) {
      const t = findTable(model, def.table, kind);
      if (t.columns.some((c) => c.name === col.name)) {
        throw new MigrationError("VALIDATION", `${where(s)}: column already exists`);
      }
      if (col.identity || col.generated !== undefined) {
        // Both fill every existing row, which PostgreSQL does by rewriting the table under ACCESS EXCLUSIVE.
        throw new MigrationError(
          "VALIDATION",
          `${where(s)}: an ${col.identity ? "identity" : "generated"} column can only be added by create_table: ` +
            "adding one to an existing table rewrites it under ACCESS EXCLUSIVE. Add a plain column with " +
            (col.identity
              ? "a default such as nextval('a_sequence')"
              : "'up' (the trigger and the backfill fill it)") +
            " instead",
        );
      }
      if (!col.nullable && col.default === undefined && !col.up) {
        throw new MigrationError(
          "VALIDATION",
          `${where(s)}: a NOT NULL column without a default needs 'up' (its value for existing rows and the old version's writes)`,
        );
      }
      s.table = t.physical;
      t.columns.push({ name: col.name, physical: col.name });
      // The new version's inserts get the default from its view whether or not the table has it yet.
      if (col.default !== undefined) t.defaults = { ...t.defaults, [col.name]: col.default };
    },
    async start(ctx) {
      await ctx.step(`start:${ctx.index}:add_column`, (c) => addColumn(s, ctx, c));
      const expression = await fill(s, ctx);
      if (expression !== undefined) {
        await ctx.step(`start:${ctx.index}:add_column:trigger`, (c) => installFill(s, ctx, c, expression));
      }
      await addConstraints(s, ctx);
    },
    backfill: async (ctx) =>
      (await fill(s, ctx)) !== undefined ? { table: s.table, touchColumn: col.name } : undefined,
    async dualWrites(ctx) {
      const expression = await fill(s, ctx);
      if (expression === undefined) return [];
      const columns = findTable(ctx.before, def.table, kind).columns;
      const newColumn = { name: col.name, physical: col.name };
      const label = `${def.table}.${col.name}`;
      return [
        {
          label,
          table: s.table,
          old: null,
          new: newColumn,
          up: { expression, columns },
          lossless: false,
          newNotNullCheck: names(s, ctx).nn,
        },
      ];
    },
    pendingChecks(ctx) {
      const n = names(s, ctx);
      const out: PendingCheck[] = [{ name: `${where(s)} NOT NULL`, table: s.table, constraint: n.nn }];
      if (col.check) out.push({ name: `${where(s)} CHECK`, table: s.table, constraint: n.check });
      if (col.references) {
        out.push({
          name: `${where(s)} REFERENCES ${col.references.table}`,
          table: s.table,
          constraint: n.fk,
        });
      }
      return out;
    },
    prepareComplete: (ctx) => prepareComplete(s, ctx),
    complete: (ctx) => ctx.step(`complete:${ctx.index}:add_column:finalize`, (c) => finalize(s, ctx, c)),
    rollback: (ctx) => rollback(s, ctx),
    touches: () => [`${def.table}.${col.name}`],
  };
}
