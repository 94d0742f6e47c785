/**
 * add_column: the column is added under its final name, nullable, so the old
 * version's inserts (which never name it) keep working:
 *  - NOT NULL without a default needs `up` (a value computed from the old
 *    version's columns); a trigger fills it on the old version's writes and
 *    the backfill fills existing rows; a NOT VALID `CHECK (col IS NOT NULL)`
 *    guards it, and complete validates it and turns it into NOT NULL without
 *    a second table scan.
 *  - unique: built with CREATE UNIQUE INDEX CONCURRENTLY, attached as a
 *    constraint on complete.
 *  - references / check: added NOT VALID (no scan under a strong lock),
 *    validated on complete.
 * Rollback renames the column aside (data kept), and drops what would bother
 * the old version: NOT NULL, default, constraints, the index.
 */
import { z } from "zod";
import { columnExists, columnTypes, constraintExists, indexState } from "../catalog";
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
  const needsNotNullCheck = !col.nullable && col.default === undefined;
  const where = () => `add_column ${def.table}.${col.name}`;

  const names = (ctx: OpContext) => ({
    trigger: triggerName(ctx.migrationId, ctx.index, table),
    nn: notNullCheckName(ctx.migrationId, col.name),
    unique: uniqueName(table, col.name),
    fk: fkName(table, col.name),
    check: checkName(table, col.name),
  });

  return {
    kind,
    describe: () => `add column ${def.table}.${col.name} ${col.type}`,
    applyToModel(model) {
      const t = findTable(model, def.table, "add_column");
      if (t.columns.some((c) => c.name === col.name)) {
        throw new MigrationError("VALIDATION", `${where()}: column already exists`);
      }
      if (needsNotNullCheck && !col.up) {
        throw new MigrationError(
          "VALIDATION",
          `${where()}: a NOT NULL column without a default needs 'up' (its value for existing rows and the old version's writes)`,
        );
      }
      table = t.physical;
      t.columns.push({ name: col.name, physical: col.name });
    },
    async start(ctx) {
      const n = names(ctx);
      const tbl = qualified(ctx.schema, table);
      await ctx.step(`start:${ctx.index}:add_column`, async (c) => {
        const notNull = !col.nullable && col.default !== undefined ? " NOT NULL" : "";
        const dflt = col.default !== undefined ? ` DEFAULT ${col.default}` : "";
        await c.query(`ALTER TABLE ${tbl} ADD COLUMN ${ident(col.name)} ${col.type}${dflt}${notNull}`);
      });
      if (col.up) {
        const up = col.up;
        await ctx.step(`start:${ctx.index}:add_column:trigger`, async (c) => {
          const types = await columnTypes(c, ctx.schema, table);
          const before = findTable(ctx.before, def.table, "add_column");
          const block = assignBlock(col.name, { expression: up, columns: before.columns }, types);
          await installTrigger(c, {
            schema: ctx.schema,
            table,
            name: n.trigger,
            body: `IF NEW.${ident(col.name)} IS NULL AND (TG_OP = 'INSERT' OR ${BACKFILLING}) THEN ${block} END IF;`,
          });
        });
      }
      if (needsNotNullCheck) {
        await ctx.step(`start:${ctx.index}:add_column:not_null`, async (c) => {
          await c.query(
            `ALTER TABLE ${tbl} ADD CONSTRAINT ${ident(n.nn)} CHECK (${ident(col.name)} IS NOT NULL) NOT VALID`,
          );
        });
      }
      if (col.unique) {
        await ctx.stepOutsideTransaction(`start:${ctx.index}:add_column:unique`, async (c) => {
          await createIndexConcurrently(
            c,
            ctx.schema,
            n.unique,
            `CREATE UNIQUE INDEX CONCURRENTLY ${ident(n.unique)} ON ${tbl} (${ident(col.name)})`,
          );
        });
      }
      if (col.references) {
        const refs = col.references;
        await ctx.step(`start:${ctx.index}:add_column:fk`, async (c) => {
          await c.query(
            `ALTER TABLE ${tbl} ADD CONSTRAINT ${ident(n.fk)} FOREIGN KEY (${ident(col.name)}) ${referencesSql(ctx.schema, ctx.before, refs, where())} NOT VALID`,
          );
        });
      }
      if (col.check) {
        await ctx.step(`start:${ctx.index}:add_column:check`, async (c) => {
          await c.query(`ALTER TABLE ${tbl} ADD CONSTRAINT ${ident(n.check)} CHECK (${col.check}) NOT VALID`);
        });
      }
    },
    backfill: () => (col.up ? { table, touchColumn: col.name } : undefined),
    dualWrites: () =>
      col.up
        ? [{ table: def.table, oldTable: def.table, oldColumn: null, newColumn: col.name, up: col.up }]
        : [],
    pendingChecks(ctx) {
      const tbl = qualified(ctx.schema, table);
      const out: PendingCheck[] = [];
      if (needsNotNullCheck)
        out.push({
          name: `${where()} NOT NULL`,
          sql: `SELECT count(*) AS violations FROM ${tbl} WHERE ${ident(col.name)} IS NULL`,
        });
      if (col.check)
        out.push({
          name: `${where()} CHECK`,
          sql: `SELECT count(*) AS violations FROM ${tbl} WHERE NOT (${col.check})`,
        });
      if (col.references) {
        const ref = findTable(ctx.before, col.references.table, where());
        const refCol =
          ref.columns.find((c) => c.name === col.references?.column)?.physical ?? col.references.column;
        out.push({
          name: `${where()} REFERENCES ${col.references.table}`,
          sql: `SELECT count(*) AS violations FROM ${tbl} t WHERE t.${ident(col.name)} IS NOT NULL AND NOT EXISTS
                  (SELECT 1 FROM ${qualified(ctx.schema, ref.physical)} r WHERE r.${ident(refCol)} = t.${ident(col.name)})`,
        });
      }
      return out;
    },
    async complete(ctx) {
      const n = names(ctx);
      const tbl = qualified(ctx.schema, table);
      // VALIDATE takes SHARE UPDATE EXCLUSIVE: it scans without blocking reads or writes.
      await ctx.step(`complete:${ctx.index}:add_column:validate`, async (c) => {
        for (const name of [n.nn, n.fk, n.check]) {
          if (await constraintExists(c, ctx.schema, table, name)) {
            await c.query(`ALTER TABLE ${tbl} VALIDATE CONSTRAINT ${ident(name)}`);
          }
        }
      });
      await ctx.step(`complete:${ctx.index}:add_column:finalize`, async (c) => {
        await dropTrigger(c, ctx.schema, table, n.trigger);
        if (await constraintExists(c, ctx.schema, table, n.nn)) {
          // SET NOT NULL uses the validated CHECK instead of scanning (PostgreSQL 12+).
          await c.query(`ALTER TABLE ${tbl} ALTER COLUMN ${ident(col.name)} SET NOT NULL`);
          await c.query(`ALTER TABLE ${tbl} DROP CONSTRAINT ${ident(n.nn)}`);
        }
        if (col.unique && !(await constraintExists(c, ctx.schema, table, n.unique))) {
          await c.query(
            `ALTER TABLE ${tbl} ADD CONSTRAINT ${ident(n.unique)} UNIQUE USING INDEX ${ident(n.unique)}`,
          );
        }
      });
    },
    async rollback(ctx) {
      const n = names(ctx);
      const tbl = qualified(ctx.schema, table);
      if (col.unique) {
        await ctx.stepOutsideTransaction(`rollback:${ctx.index}:add_column:unique`, async (c) => {
          await dropIndexConcurrently(c, ctx.schema, n.unique);
        });
      }
      await ctx.step(`rollback:${ctx.index}:add_column`, async (c) => {
        await dropTrigger(c, ctx.schema, table, n.trigger);
        for (const name of [n.nn, n.fk, n.check, n.unique]) {
          await c.query(`ALTER TABLE ${tbl} DROP CONSTRAINT IF EXISTS ${ident(name)}`);
        }
        if ((await indexState(c, ctx.schema, n.unique)).exists) {
          await c.query(`DROP INDEX ${qualified(ctx.schema, n.unique)}`);
        }
        if (!(await columnExists(c, ctx.schema, table, col.name))) return;
        const aside = asideName(ctx.migrationId, col.name);
        await c.query(`ALTER TABLE ${tbl} ALTER COLUMN ${ident(col.name)} DROP DEFAULT`);
        await c.query(`ALTER TABLE ${tbl} ALTER COLUMN ${ident(col.name)} DROP NOT NULL`);
        await c.query(`ALTER TABLE ${tbl} RENAME COLUMN ${ident(col.name)} TO ${ident(aside)}`);
        await ctx.recordAside(c, { kind: "column", table, column: aside, originalName: col.name });
      });
    },
    touches: () => [`${def.table}.${col.name}`],
  };
}
