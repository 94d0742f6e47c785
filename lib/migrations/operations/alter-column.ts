/**
 * alter_column: several changes to one column in one migration — type (with
 * `up` / `down`), nullability, default, a new name, unique / check /
 * references constraints and a comment — which one-change operations would
 * refuse as touching the same column twice.
 *
 * It is the existing operations composed, in this order, each keeping its
 * own guarantees: a type or nullability change is one shadow column
 * (shadow.ts: dual-write trigger, backfill, swap on complete; the default
 * and the new name go with it); otherwise a rename is `rename_column` and a
 * default `set_default`. Then `add_constraint` unique (built CONCURRENTLY),
 * check and foreign key (NOT VALID, validated on complete) on the new column
 * — on the shadow while both versions run — and `set_comment`. Each part
 * runs against the model it would see as a separate operation, and its steps
 * carry a `#<part>` suffix so the parts' records never collide.
 */
import { z } from "zod";
import { ident } from "../sql";
import { cloneModel, type OpContext, type Operation, type SchemaModel } from "../types";
import * as addConstraint from "./add-constraint";
import { checkName, fkName, Name, References, Sql, uniqueName } from "./common";
import * as renameColumn from "./rename-column";
import * as setComment from "./set-comment";
import * as setDefault from "./set-default";
import { shadowOperation } from "./shadow";

export const kind = "alter_column";
export const schema = z
  .strictObject({
    table: Name,
    column: Name,
    /** New name in the new version. */
    name: Name.optional(),
    type: Sql.optional(),
    /** The new value from the old row (needed with `type` or `nullable: false`). */
    up: Sql.optional(),
    /** The old value from the new row (needed with `type` or `nullable: true`). */
    down: Sql.optional(),
    nullable: z.boolean().optional(),
    default: Sql.nullable().optional(),
    unique: z.literal(true).optional(),
    check: Sql.optional(),
    references: References.optional(),
    comment: z.string().nullable().optional(),
    lossless: z.boolean().optional(),
    /** Accepted only to refuse them with the reason (below), rather than as unknown keys. */
    identity: z.unknown().optional(),
    generated: z.unknown().optional(),
  })
  .refine((d) => d.identity === undefined && d.generated === undefined, {
    message:
      "an existing column cannot become identity or generated here: PostgreSQL fills or recomputes every row, " +
      "rewriting or scanning the table under ACCESS EXCLUSIVE; declare it in create_table, or add a new column " +
      "with a default (nextval) or 'up' and drop the old one",
  })
  .refine(
    (d) =>
      [
        d.name,
        d.type,
        d.nullable,
        d.default,
        d.unique,
        d.check,
        d.references,
        d.comment,
        d.identity,
        d.generated,
      ].some((x) => x !== undefined),
    "alter_column needs at least one change (name, type, nullable, default, unique, check, references, comment)",
  )
  .refine((d) => d.up !== undefined || (d.type === undefined && d.nullable !== false), {
    message: "'up' is required with 'type' or 'nullable: false' (the new column's value from the old row)",
    path: ["up"],
  })
  .refine((d) => d.down !== undefined || (d.type === undefined && d.nullable !== true), {
    message: "'down' is required with 'type' or 'nullable: true' (the old column's value from the new row)",
    path: ["down"],
  })
  .refine(
    (d) => d.type !== undefined || d.nullable !== undefined || (d.up === undefined && d.down === undefined),
    {
      message: "'up' and 'down' only go with 'type' or 'nullable'",
      path: ["up"],
    },
  );
export type AlterColumn = z.infer<typeof schema>;

/** The one-change operations this alter_column is made of, in the order they run. */
function parts(def: AlterColumn): Operation[] {
  const final = def.name ?? def.column;
  const out: Operation[] = [];
  if (def.type !== undefined || def.nullable !== undefined) {
    out.push(
      shadowOperation({
        kind,
        table: def.table,
        column: def.column,
        newName: def.name,
        type: def.type,
        // The schema demands the side that changes; the other keeps its values.
        up: def.up ?? ident(def.column),
        down: def.down ?? ident(final),
        notNull: def.nullable === undefined ? undefined : !def.nullable,
        default: def.default,
        lossless: def.lossless,
        describe: `alter column ${def.table}.${def.column}`,
      }),
    );
  } else {
    if (def.name !== undefined) {
      out.push(renameColumn.create({ table: def.table, from: def.column, to: def.name }));
    }
    if (def.default !== undefined) {
      out.push(setDefault.create({ table: def.table, column: final, default: def.default }));
    }
  }
  if (def.unique) {
    out.push(
      addConstraint.create({
        type: "unique",
        table: def.table,
        name: uniqueName(def.table, final),
        columns: [final],
      }),
    );
  }
  if (def.check !== undefined) {
    out.push(
      addConstraint.create({
        type: "check",
        table: def.table,
        name: checkName(def.table, final),
        check: def.check,
      }),
    );
  }
  if (def.references) {
    const { table, column, ...actions } = def.references;
    out.push(
      addConstraint.create({
        type: "foreign_key",
        table: def.table,
        name: fkName(def.table, final),
        columns: [final],
        references: { table, columns: [column] },
        ...actions,
      }),
    );
  }
  if (def.comment !== undefined) {
    out.push(setComment.create({ table: def.table, column: final, comment: def.comment }));
  }
  return out;
}

export function create(def: AlterColumn): Operation {
  const ops = parts(def);
  /** models[j] = the model part j sees; models[j + 1] = after it. */
  let models: SchemaModel[] = [];
  const sub = (ctx: OpContext, j: number): OpContext => ({
    ...ctx,
    before: models[j] ?? ctx.before,
    after: models[j + 1] ?? ctx.after,
    step: (name, fn) => ctx.step(`${name}#${j}`, fn),
    stepOutsideTransaction: (name, fn) => ctx.stepOutsideTransaction(`${name}#${j}`, fn),
    isDone: (name) => ctx.isDone(`${name}#${j}`),
  });
  const each = async (ctx: OpContext, fn: (op: Operation, c: OpContext) => Promise<void> | undefined) => {
    for (let j = 0; j < ops.length; j++) await fn(ops[j]!, sub(ctx, j));
  };
  const shadow = ops.find((op) => op.shadows);
  return {
    kind,
    describe: () => `alter column ${def.table}.${def.column}: ${ops.map((op) => op.describe()).join("; ")}`,
    applyToModel(model) {
      models = [cloneModel(model)];
      for (const op of ops) {
        op.applyToModel(model);
        models.push(cloneModel(model));
      }
    },
    async preflight(c, p) {
      for (const op of ops) await op.preflight?.(c, p);
    },
    shadows: shadow ? () => shadow.shadows!() : undefined,
    needs: (ctx) => [...new Set(ops.flatMap((op, j) => op.needs?.(sub(ctx, j)) ?? []))],
    touches: (model) => [...new Set(ops.flatMap((op) => op.touches?.(model) ?? []))],
    start: (ctx) => each(ctx, (op, c) => op.start(c)),
    async backfill(ctx) {
      for (let j = 0; j < ops.length; j++) {
        const spec = await ops[j]!.backfill?.(sub(ctx, j));
        if (spec) return spec;
      }
      return undefined;
    },
    async dualWrites(ctx) {
      const out = [];
      for (let j = 0; j < ops.length; j++) out.push(...((await ops[j]!.dualWrites?.(sub(ctx, j))) ?? []));
      return out;
    },
    async pendingChecks(ctx) {
      const out = [];
      for (let j = 0; j < ops.length; j++) out.push(...((await ops[j]!.pendingChecks?.(sub(ctx, j))) ?? []));
      return out;
    },
    prepareComplete: (ctx) => each(ctx, (op, c) => op.prepareComplete?.(c)),
    complete: (ctx) => each(ctx, (op, c) => op.complete(c)),
    async rollback(ctx) {
      // Undo in reverse: constraints on the new column go before the column is put aside.
      for (let j = ops.length - 1; j >= 0; j--) await ops[j]!.rollback(sub(ctx, j));
    },
  };
}
