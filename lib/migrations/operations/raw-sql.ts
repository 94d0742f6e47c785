/**
 * raw_sql: an escape hatch that must say how to start, complete and roll
 * back, so it stays reversible like every other operation. It runs with
 * search_path set to the application schema; tables or columns it creates at
 * start appear in the new version's views. `transaction: false` is for
 * statements such as CREATE INDEX CONCURRENTLY (then the SQL must be
 * idempotent, since a crash can land between its effect and the record).
 *
 * With `start`, all three must be stated (an empty string says "nothing"
 * on purpose). Without it, `complete` alone: SQL that only belongs to the
 * contract (dropping what the old version needed, a final cleanup), which
 * runs after every earlier operation's complete step in the migration's
 * order and has nothing to roll back, since nothing ran before complete.
 */
import { z } from "zod";
import { ident } from "../sql";
import type { OpContext, Operation } from "../types";
import { SqlStatement } from "./common";

export const kind = "raw_sql";
export const schema = z
  .strictObject({
    start: SqlStatement.refine(
      (s) => s.trim() !== "",
      "raw_sql must say what start does (or leave start out for SQL that runs only at complete)",
    ).optional(),
    complete: SqlStatement.optional(),
    rollback: SqlStatement.optional(),
    transaction: z.boolean().default(true),
  })
  .superRefine((d, ctx) => {
    if (d.start !== undefined) {
      for (const key of ["complete", "rollback"] as const) {
        if (d[key] === undefined) {
          ctx.addIssue({
            code: "custom",
            path: [key],
            message: `raw_sql with start must say what ${key} does ('' for nothing)`,
          });
        }
      }
      return;
    }
    if (!d.complete?.trim()) {
      ctx.addIssue({ code: "custom", path: ["complete"], message: "raw_sql needs start or complete" });
    }
    if (d.rollback !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["rollback"],
        message: "rollback undoes start; raw_sql without start has nothing to roll back",
      });
    }
  });
export type RawSql = z.infer<typeof schema>;

export function create(def: RawSql): Operation {
  const run = async (ctx: OpContext, phase: "start" | "complete" | "rollback", sql: string) => {
    if (!sql.trim()) return;
    const name = `${phase}:${ctx.index}:raw_sql`;
    if (def.transaction) {
      await ctx.step(name, async (c) => {
        await c.query(`SET LOCAL search_path = ${ident(ctx.schema)}`);
        await c.query(sql);
      });
    } else {
      await ctx.stepOutsideTransaction(name, async (c) => {
        await c.query(`SET search_path = ${ident(ctx.schema)}`);
        try {
          await c.query(sql);
        } finally {
          await c.query("RESET search_path");
        }
      });
    }
  };
  return {
    kind,
    describe: () =>
      `raw SQL${def.start === undefined ? " at complete" : ""}: ${(def.start ?? def.complete ?? "").trim().split("\n")[0]?.slice(0, 60)}`,
    applyToModel() {},
    start: (ctx) => run(ctx, "start", def.start ?? ""),
    complete: (ctx) => run(ctx, "complete", def.complete ?? ""),
    // The rollback SQL undoes the start SQL, so it only runs if start ran (a crash may have come first).
    rollback: async (ctx) => {
      if (ctx.isDone(`start:${ctx.index}:raw_sql`)) await run(ctx, "rollback", def.rollback ?? "");
    },
  };
}
