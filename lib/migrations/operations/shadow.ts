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
  refuseReferenced,
  refuseUncarriable,
  swapInCopies,
  validateCopies,
} from "./carry-over";
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
  /** Declared lossless: verify demands that up and down round-trip. */
  lossless?: boolean;
  /** Drop the old column with CASCADE on complete (RESTRICT otherwise). */
  cascade?: boolean;
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

/** One shadowed column of a migration: its spec, and what applyToModel learned. */
interface Shadow {
  spec: ShadowSpec;
  newName: string;
  /** Physical table and old column (known after applyToModel). */
  table: string;
  oldPhysical: string;
  label: string;
}

const shadowOf = (s: Shadow) => shadowColumn(s.oldPhysical);
const trig = (s: Shadow, ctx: OpContext) => triggerName(ctx.migrationId, ctx.index, s.table);
const nn = (s: Shadow, ctx: OpContext) => notNullCheckName(ctx.migrationId, s.newName);
const carry = (s: Shadow, ctx: OpContext): CarryArgs => ({
  schema: ctx.schema,
  table: s.table,
  column: s.oldPhysical,
  shadow: shadowOf(s),
  migrationId: ctx.migrationId,
  label: s.label,
});
const bindings = (s: Shadow, ctx: OpContext) => ({
  up: { expression: s.spec.up, columns: findTable(ctx.before, s.spec.table, s.spec.kind).columns },
  down: { expression: s.spec.down, columns: findTable(ctx.after, s.spec.table, s.spec.kind).columns },
});

async function startShadow(s: Shadow, ctx: OpContext): Promise<void> {
  const { spec, table, oldPhysical } = s;
  const tbl = qualified(ctx.schema, table);
  await ctx.step(`start:${ctx.index}:${spec.kind}:shadow`, async (c) => {
    const info = await oldColumnInfo(c, ctx.schema, table, oldPhysical);
    if (!info) throw new MigrationError("VALIDATION", `${s.label}: column does not exist`);
    await c.query(`ALTER TABLE ${tbl} ADD COLUMN ${ident(shadowOf(s))} ${spec.type ?? info.type}`);
  });
  await ctx.step(`start:${ctx.index}:${spec.kind}:trigger`, async (c) => {
    const info = await oldColumnInfo(c, ctx.schema, table, oldPhysical);
    const body = await pairTriggerBody(c, {
      schema: ctx.schema,
      table,
      oldColumn: oldPhysical,
      shadow: shadowOf(s),
      ...bindings(s, ctx),
      oldNotNull: Boolean(info?.notnull),
    });
    await installTrigger(c, { schema: ctx.schema, table, name: trig(s, ctx), body });
  });
  await ctx.step(`start:${ctx.index}:${spec.kind}:not_null`, async (c) => {
    const info = await oldColumnInfo(c, ctx.schema, table, oldPhysical);
    if (!(spec.notNull ?? info?.notnull)) return;
    await c.query(
      `ALTER TABLE ${tbl} ADD CONSTRAINT ${ident(nn(s, ctx))} CHECK (${ident(shadowOf(s))} IS NOT NULL) NOT VALID`,
    );
  });
  await ctx.step(`start:${ctx.index}:${spec.kind}:carry`, (c) => copyConstraints(c, carry(s, ctx)));
  await ctx.stepOutsideTransaction(`start:${ctx.index}:${spec.kind}:carry_indexes`, (c) =>
    copyIndexes(c, carry(s, ctx)),
  );
}

async function prepareComplete(s: Shadow, ctx: OpContext): Promise<void> {
  const { spec, table, oldPhysical } = s;
  await ctx.step(`validate:${ctx.index}:${spec.kind}`, async (c) => {
    if (await columnExists(c, ctx.schema, table, oldPhysical)) {
      await refuseReferenced(c, ctx.schema, table, oldPhysical, s.label);
    }
    if (await constraintExists(c, ctx.schema, table, nn(s, ctx))) {
      await c.query(`ALTER TABLE ${qualified(ctx.schema, table)} VALIDATE CONSTRAINT ${ident(nn(s, ctx))}`);
    }
    await validateCopies(c, carry(s, ctx));
  });
  await ctx.stepOutsideTransaction(`validate:${ctx.index}:${spec.kind}:indexes`, async (c) => {
    if (await columnExists(c, ctx.schema, table, shadowOf(s))) await copyIndexes(c, carry(s, ctx));
  });
}

/** One transaction: the old column goes (with its originals), the shadow takes its place and theirs. */
async function swap(s: Shadow, ctx: OpContext, c: PoolClient): Promise<void> {
  const { spec, table, oldPhysical } = s;
  const tbl = qualified(ctx.schema, table);
  await dropTrigger(c, ctx.schema, table, trig(s, ctx));
  const info = await oldColumnInfo(c, ctx.schema, table, oldPhysical);
  await swapInCopies(c, carry(s, ctx), async () => {
    if (info)
      await c.query(
        `ALTER TABLE ${tbl} DROP COLUMN ${ident(oldPhysical)} ${dropBehaviour(spec.cascade ?? false)}`,
      );
    if (await columnExists(c, ctx.schema, table, shadowOf(s))) {
      await c.query(`ALTER TABLE ${tbl} RENAME COLUMN ${ident(shadowOf(s))} TO ${ident(s.newName)}`);
    }
  });
  const col = ident(s.newName);
  if (await constraintExists(c, ctx.schema, table, nn(s, ctx))) {
    await c.query(`ALTER TABLE ${tbl} ALTER COLUMN ${col} SET NOT NULL`);
    await c.query(`ALTER TABLE ${tbl} DROP CONSTRAINT ${ident(nn(s, ctx))}`);
  }
  const dflt = spec.default !== undefined ? spec.default : spec.type ? null : (info?.dflt ?? null);
  if (dflt !== null) await c.query(`ALTER TABLE ${tbl} ALTER COLUMN ${col} SET DEFAULT ${dflt}`);
}

async function rollback(s: Shadow, ctx: OpContext): Promise<void> {
  const { table } = s;
  const tbl = qualified(ctx.schema, table);
  await ctx.step(`rollback:${ctx.index}:${s.spec.kind}`, async (c) => {
    await dropTrigger(c, ctx.schema, table, trig(s, ctx));
    await c.query(`ALTER TABLE ${tbl} DROP CONSTRAINT IF EXISTS ${ident(nn(s, ctx))}`);
    if (!(await columnExists(c, ctx.schema, table, shadowOf(s)))) return;
    await dropFromShadow(c, ctx.schema, table, shadowOf(s));
    const aside = asideName(ctx.migrationId, s.newName);
    await c.query(`ALTER TABLE ${tbl} RENAME COLUMN ${ident(shadowOf(s))} TO ${ident(aside)}`);
    await ctx.recordAside(c, { kind: "column", table, column: aside, originalName: s.newName });
  });
}

export function shadowOperation(spec: ShadowSpec): Operation {
  const newName = spec.newName ?? spec.column;
  const s: Shadow = {
    spec,
    newName,
    table: spec.table,
    oldPhysical: spec.column,
    label: `${spec.kind} ${spec.table}.${spec.column}`,
  };
  return {
    kind: spec.kind,
    describe: () => spec.describe,
    applyToModel(model) {
      const t = findTable(model, spec.table, spec.kind);
      const c = findColumn(t, spec.column, spec.kind);
      if (newName !== spec.column && t.columns.some((x) => x.name === newName)) {
        throw new MigrationError(
          "VALIDATION",
          `${s.label}: column '${spec.table}.${newName}' already exists`,
        );
      }
      s.table = t.physical;
      s.oldPhysical = c.physical;
      c.name = newName;
      c.physical = shadowOf(s);
      if (spec.default !== undefined) t.defaults = { ...t.defaults, [newName]: spec.default ?? "NULL" };
    },
    async preflight(c, p) {
      // A table this migration creates has nothing to carry over yet; start checks the column.
      if (!(await tableExists(c, p.schema, s.table))) return;
      if (!(await oldColumnInfo(c, p.schema, s.table, s.oldPhysical))) {
        throw new MigrationError("VALIDATION", `${s.label}: column does not exist`);
      }
      await refuseUncarriable(c, p.schema, s.table, s.oldPhysical, s.label, p.shadowed);
    },
    shadows: () => ({ table: s.table, column: s.oldPhysical, by: s.label }),
    start: (ctx) => startShadow(s, ctx),
    backfill: () => ({ table: s.table, touchColumn: s.oldPhysical }),
    dualWrites: (ctx) => [
      {
        label: `${findTable(ctx.after, spec.table, spec.kind).name}.${newName}`,
        table: s.table,
        old: { name: spec.column, physical: s.oldPhysical },
        new: { name: newName, physical: shadowOf(s) },
        ...bindings(s, ctx),
        lossless: spec.lossless === true,
        newNotNullCheck: nn(s, ctx),
      },
    ],
    async pendingChecks(ctx) {
      const copies = await ctx.inspect((c) => copiesToValidate(c, carry(s, ctx)));
      const of = (constraint: string, name: string) => ({
        name: `${s.label}: ${name}`,
        table: s.table,
        constraint,
      });
      return [
        of(nn(s, ctx), "NOT NULL of the new column"),
        ...copies.map((x) => of(x, `${x} (carried over)`)),
      ];
    },
    prepareComplete: (ctx) => prepareComplete(s, ctx),
    complete: (ctx) => ctx.step(`complete:${ctx.index}:${spec.kind}:swap`, (c) => swap(s, ctx, c)),
    rollback: (ctx) => rollback(s, ctx),
    touches: () => [`${spec.table}.${spec.column}`],
  };
}
