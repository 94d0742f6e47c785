/**
 * Shared machinery of the column changes that need both an old and a new
 * physical column (change_type, set_not_null, drop_not_null), in the manner of
 * pgroll's "duplicate column":
 *
 *   start     add shadow column `_ss_new_<col>` (nullable, no default)
 *             install the dual-write trigger (up: old -> shadow, down: shadow -> old)
 *             NOT VALID CHECK (shadow IS NOT NULL) when the new column is NOT NULL
 *             copies of the column's constraints and indexes on the shadow (carry-over.ts)
 *             (engine) views, then keyset backfill of existing rows
 *   complete  while still active: VALIDATE the checks (no strong lock) and make
 *             sure every index copy is built; then in ONE transaction:
 *             drop trigger, drop old column, rename shadow to the final name,
 *             SET NOT NULL (uses the validated check), default, copies take
 *             their originals' names
 *   rollback  drop trigger, check and copies; rename the shadow aside (green's writes kept)
 */
import type { PoolClient } from "pg";
import { columnExists, constraintExists, tableExists } from "../catalog";
import { asideName, ident, notNullCheckName, qualified, shadowColumn, triggerName } from "../sql";
import {
  findColumn,
  findTable,
  MigrationError,
  type OpContext,
  type Operation,
  type Queryable,
} from "../types";
import {
  type CarryArgs,
  copiesToValidate,
  copyConstraints,
  copyIndexes,
  dropFromShadow,
  refuseUncarriable,
  swapInCopies,
  validateCopies,
} from "./carry-over";
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
  /** Declared lossless: verify demands that up and down round-trip. */
  lossless?: boolean;
  describe: string;
}

async function oldColumnInfo(c: Queryable, schema: string, table: string, column: string) {
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
  const carry = (ctx: OpContext): CarryArgs => ({
    schema: ctx.schema,
    table,
    column: oldPhysical,
    shadow: shadow(),
    migrationId: ctx.migrationId,
    label,
  });

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
    async preflight(c, p) {
      // A table this migration creates has nothing to carry over yet; start checks the column.
      if (!(await tableExists(c, p.schema, table))) return;
      if (!(await oldColumnInfo(c, p.schema, table, oldPhysical))) {
        throw new MigrationError("VALIDATION", `${label}: column does not exist`);
      }
      await refuseUncarriable(c, p.schema, table, oldPhysical, label, p.shadowed);
    },
    shadows: () => ({ table, column: oldPhysical, by: label }),
    start: (ctx) => startShadow(ctx),
    backfill: () => ({ table, touchColumn: oldPhysical }),
    async dualWrites(ctx) {
      const before = findTable(ctx.before, spec.table, spec.kind);
      const after = findTable(ctx.after, spec.table, spec.kind);
      return [
        {
          label: `${after.name}.${newName}`,
          table,
          old: { name: spec.column, physical: oldPhysical },
          new: { name: newName, physical: shadow() },
          up: { expression: spec.up, columns: before.columns },
          down: { expression: spec.down, columns: after.columns },
          lossless: spec.lossless === true,
          newNotNullCheck: nn(ctx),
        },
      ];
    },
    async pendingChecks(ctx) {
      const copies = await ctx.inspect((c) => copiesToValidate(c, carry(ctx)));
      return [
        { name: `${label}: NOT NULL of the new column`, table, constraint: nn(ctx) },
        ...copies.map((constraint) => ({
          name: `${label}: ${constraint} (carried over)`,
          table,
          constraint,
        })),
      ];
    },
    async prepareComplete(ctx) {
      await ctx.step(`validate:${ctx.index}:${spec.kind}`, async (c) => {
        if (await constraintExists(c, ctx.schema, table, nn(ctx))) {
          await c.query(`ALTER TABLE ${qualified(ctx.schema, table)} VALIDATE CONSTRAINT ${ident(nn(ctx))}`);
        }
        await validateCopies(c, carry(ctx));
      });
      await ctx.stepOutsideTransaction(`validate:${ctx.index}:${spec.kind}:indexes`, async (c) => {
        if (await columnExists(c, ctx.schema, table, shadow())) await copyIndexes(c, carry(ctx));
      });
    },
    complete: (ctx) => ctx.step(`complete:${ctx.index}:${spec.kind}:swap`, (c) => swap(ctx, c)),
    async rollback(ctx) {
      const tbl = qualified(ctx.schema, table);
      await ctx.step(`rollback:${ctx.index}:${spec.kind}`, async (c) => {
        await dropTrigger(c, ctx.schema, table, trig(ctx));
        await c.query(`ALTER TABLE ${tbl} DROP CONSTRAINT IF EXISTS ${ident(nn(ctx))}`);
        if (!(await columnExists(c, ctx.schema, table, shadow()))) return;
        await dropFromShadow(c, ctx.schema, table, shadow());
        const aside = asideName(ctx.migrationId, newName);
        await c.query(`ALTER TABLE ${tbl} RENAME COLUMN ${ident(shadow())} TO ${ident(aside)}`);
        await ctx.recordAside(c, { kind: "column", table, column: aside, originalName: newName });
      });
    },
    touches: () => [`${spec.table}.${spec.column}`],
  };

  async function startShadow(ctx: OpContext): Promise<void> {
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
    await ctx.step(`start:${ctx.index}:${spec.kind}:carry`, (c) => copyConstraints(c, carry(ctx)));
    await ctx.stepOutsideTransaction(`start:${ctx.index}:${spec.kind}:carry_indexes`, (c) =>
      copyIndexes(c, carry(ctx)),
    );
  }

  /** One transaction: the old column goes (with its originals), the shadow takes its place and theirs. */
  async function swap(ctx: OpContext, c: PoolClient): Promise<void> {
    const tbl = qualified(ctx.schema, table);
    await dropTrigger(c, ctx.schema, table, trig(ctx));
    const info = await oldColumnInfo(c, ctx.schema, table, oldPhysical);
    await swapInCopies(c, carry(ctx), async () => {
      if (info) await c.query(`ALTER TABLE ${tbl} DROP COLUMN ${ident(oldPhysical)} CASCADE`);
      if (await columnExists(c, ctx.schema, table, shadow())) {
        await c.query(`ALTER TABLE ${tbl} RENAME COLUMN ${ident(shadow())} TO ${ident(newName)}`);
      }
    });
    const col = ident(newName);
    if (await constraintExists(c, ctx.schema, table, nn(ctx))) {
      await c.query(`ALTER TABLE ${tbl} ALTER COLUMN ${col} SET NOT NULL`);
      await c.query(`ALTER TABLE ${tbl} DROP CONSTRAINT ${ident(nn(ctx))}`);
    }
    const dflt = spec.default !== undefined ? spec.default : spec.type ? null : (info?.dflt ?? null);
    if (dflt !== null) await c.query(`ALTER TABLE ${tbl} ALTER COLUMN ${col} SET DEFAULT ${dflt}`);
  }
}
