/**
 * Shared machinery of the column changes that need both an old and a new
 * physical column (change_type, set_not_null, drop_not_null), in the manner of
 * pgroll's "duplicate column":
 *
 *   start     add shadow column `_ss_new_<col>` (nullable, no default)
 *             install the dual-write trigger (up: old -> shadow, down: shadow -> old)
 *             NOT VALID CHECK (shadow IS NOT NULL) when the new column is NOT NULL
 *             (engine) views, then keyset backfill of existing rows
 *   complete  VALIDATE the check (no strong lock), then in ONE transaction:
 *             drop trigger, drop old column, rename shadow to the final name,
 *             SET NOT NULL (uses the validated check), default
 *   rollback  drop trigger and check; rename the shadow aside (green's writes kept)
 *
 * Indexes and unique constraints on the old column are not copied to the
 * shadow (left to an explicit create_index / add_constraint in the same
 * migration); see lib/migrations/README.md.
 */
import type { PoolClient } from "pg";
import { columnExists, constraintExists } from "../catalog";
import { asideName, ident, notNullCheckName, qualified, shadowColumn, triggerName } from "../sql";
import { findColumn, findTable, MigrationError, type OpContext, type Operation } from "../types";
import { dropBehaviour } from "./common";
import { dropTrigger, installTrigger, pairTriggerBody } from "./triggers";

export interface ShadowSpec {
  kind: string;
  table: string;
  column: string;
  /** Name in the new version (defaults to `column`). */
  newName?: string;
  /** New type; undefined keeps the old column's type. */
  type?: string;
  up: string;
  down: string;
  /** true/false forces the new column's nullability; undefined keeps the old column's. */
  notNull?: boolean;
  /** Default of the new column; undefined copies the old default when the type is unchanged. */
  default?: string | null;
  /** Drop the old column with CASCADE on complete (RESTRICT otherwise). */
  cascade?: boolean;
  describe: string;
}

async function oldColumnInfo(c: PoolClient, schema: string, table: string, column: string) {
  const r = await c.query<{ type: string; notnull: boolean; dflt: string | null }>(
    `SELECT format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS notnull,
            pg_get_expr(d.adbin, d.adrelid) AS dflt
       FROM pg_attribute a JOIN pg_class cl ON cl.oid = a.attrelid JOIN pg_namespace n ON n.oid = cl.relnamespace
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE n.nspname = $1 AND cl.relname = $2 AND a.attname = $3 AND NOT a.attisdropped`,
    [schema, table, column],
  );
  return r.rows[0];
}

export function shadowOperation(spec: ShadowSpec): Operation {
  const newName = spec.newName ?? spec.column;
  let table = spec.table;
  let oldPhysical = spec.column;
  const shadow = () => shadowColumn(oldPhysical);
  const trig = (ctx: OpContext) => triggerName(ctx.migrationId, ctx.index, table);
  const nn = (ctx: OpContext) => notNullCheckName(ctx.migrationId, newName);
  const label = `${spec.kind} ${spec.table}.${spec.column}`;

  return {
    kind: spec.kind,
    describe: () => spec.describe,
    applyToModel(model) {
      const t = findTable(model, spec.table, spec.kind);
      const c = findColumn(t, spec.column, spec.kind);
      if (newName !== spec.column && t.columns.some((x) => x.name === newName)) {
        throw new MigrationError("VALIDATION", `${label}: column '${spec.table}.${newName}' already exists`);
      }
      table = t.physical;
      oldPhysical = c.physical;
      c.name = newName;
      c.physical = shadowColumn(oldPhysical);
      if (spec.default !== undefined) {
        t.defaults = { ...t.defaults, [newName]: spec.default ?? "NULL" };
      }
    },
    async start(ctx) {
      const tbl = qualified(ctx.schema, table);
      await ctx.step(`start:${ctx.index}:${spec.kind}:shadow`, async (c) => {
        const info = await oldColumnInfo(c, ctx.schema, table, oldPhysical);
        if (!info) throw new MigrationError("VALIDATION", `${label}: column does not exist`);
        await c.query(`ALTER TABLE ${tbl} ADD COLUMN ${ident(shadow())} ${spec.type ?? info.type}`);
      });
      await ctx.step(`start:${ctx.index}:${spec.kind}:trigger`, async (c) => {
        const info = await oldColumnInfo(c, ctx.schema, table, oldPhysical);
        const before = findTable(ctx.before, spec.table, spec.kind);
        const after = findTable(ctx.after, spec.table, spec.kind);
        const body = await pairTriggerBody(c, {
          schema: ctx.schema,
          table,
          oldColumn: oldPhysical,
          shadow: shadow(),
          up: { expression: spec.up, columns: before.columns },
          down: { expression: spec.down, columns: after.columns },
          oldNotNull: Boolean(info?.notnull),
        });
        await installTrigger(c, { schema: ctx.schema, table, name: trig(ctx), body });
      });
      await ctx.step(`start:${ctx.index}:${spec.kind}:not_null`, async (c) => {
        const info = await oldColumnInfo(c, ctx.schema, table, oldPhysical);
        const notNull = spec.notNull ?? Boolean(info?.notnull);
        if (!notNull) return;
        await c.query(
          `ALTER TABLE ${tbl} ADD CONSTRAINT ${ident(nn(ctx))} CHECK (${ident(shadow())} IS NOT NULL) NOT VALID`,
        );
      });
    },
    backfill: () => ({ table, touchColumn: oldPhysical }),
    dualWrites: () => [
      {
        table: spec.table,
        oldTable: spec.table,
        oldColumn: spec.column,
        newColumn: newName,
        up: spec.up,
        down: spec.down,
      },
    ],
    pendingChecks(ctx) {
      const tbl = qualified(ctx.schema, table);
      return [
        {
          name: `${label}: NOT NULL of the new column`,
          // Only pending when the check exists (the new column is NOT NULL).
          sql: `SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_constraint WHERE conname = ${`'${nn(ctx).replace(/'/g, "''")}'`}
                   AND conrelid = '${tbl.replace(/'/g, "''")}'::regclass)
                 THEN (SELECT count(*) FROM ${tbl} WHERE ${ident(shadow())} IS NULL) ELSE 0 END AS violations`,
        },
      ];
    },
    async complete(ctx) {
      const tbl = qualified(ctx.schema, table);
      await ctx.step(`complete:${ctx.index}:${spec.kind}:validate`, async (c) => {
        if (await constraintExists(c, ctx.schema, table, nn(ctx))) {
          await c.query(`ALTER TABLE ${tbl} VALIDATE CONSTRAINT ${ident(nn(ctx))}`);
        }
      });
      await ctx.step(`complete:${ctx.index}:${spec.kind}:swap`, async (c) => {
        await dropTrigger(c, ctx.schema, table, trig(ctx));
        const info = await oldColumnInfo(c, ctx.schema, table, oldPhysical);
        if (info)
          await c.query(
            `ALTER TABLE ${tbl} DROP COLUMN ${ident(oldPhysical)} ${dropBehaviour(spec.cascade ?? false)}`,
          );
        if (await columnExists(c, ctx.schema, table, shadow())) {
          await c.query(`ALTER TABLE ${tbl} RENAME COLUMN ${ident(shadow())} TO ${ident(newName)}`);
        }
        const col = ident(newName);
        if (await constraintExists(c, ctx.schema, table, nn(ctx))) {
          await c.query(`ALTER TABLE ${tbl} ALTER COLUMN ${col} SET NOT NULL`);
          await c.query(`ALTER TABLE ${tbl} DROP CONSTRAINT ${ident(nn(ctx))}`);
        }
        const dflt = spec.default !== undefined ? spec.default : spec.type ? null : (info?.dflt ?? null);
        if (dflt !== null) await c.query(`ALTER TABLE ${tbl} ALTER COLUMN ${col} SET DEFAULT ${dflt}`);
      });
    },
    async rollback(ctx) {
      const tbl = qualified(ctx.schema, table);
      await ctx.step(`rollback:${ctx.index}:${spec.kind}`, async (c) => {
        await dropTrigger(c, ctx.schema, table, trig(ctx));
        await c.query(`ALTER TABLE ${tbl} DROP CONSTRAINT IF EXISTS ${ident(nn(ctx))}`);
        if (!(await columnExists(c, ctx.schema, table, shadow()))) return;
        const aside = asideName(ctx.migrationId, newName);
        await c.query(`ALTER TABLE ${tbl} RENAME COLUMN ${ident(shadow())} TO ${ident(aside)}`);
        await ctx.recordAside(c, { kind: "column", table, column: aside, originalName: newName });
      });
    },
    touches: () => [`${spec.table}.${spec.column}`],
  };
}
