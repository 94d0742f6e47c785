/**
 * set_comment: a comment on a table or on one of its columns (`comment: null`
 * removes it). A comment is catalog metadata that neither version's queries
 * depend on, so nothing happens at start and nothing needs undoing on
 * rollback: complete sets it on the physical table or column (COMMENT ON
 * takes SHARE UPDATE EXCLUSIVE, which blocks neither reads nor writes).
 * The column is the one the version sees at the operation's place, so a
 * comment on a column this migration shadows lands on the new column.
 */
import { z } from "zod";
import { columnExists, tableExists } from "../catalog";
import { ident, literal, qualified } from "../sql";
import { findColumn, findTable, type Operation } from "../types";
import { finalColumn, Name } from "./common";

export const kind = "set_comment";
export const schema = z.strictObject({
  table: Name,
  /** Omitted: the comment is on the table. */
  column: Name.optional(),
  comment: z.string().nullable(),
});
export type SetComment = z.infer<typeof schema>;

export function create(def: SetComment): Operation {
  let table = def.table;
  let column: string | undefined;
  const target = def.column ? `${def.table}.${def.column}` : def.table;
  const label = `set_comment ${target}`;
  return {
    kind,
    describe: () => `set comment of ${target}`,
    applyToModel(model) {
      const t = findTable(model, def.table, kind);
      table = t.physical;
      if (def.column) column = findColumn(t, def.column, kind).physical;
    },
    async start() {},
    async complete(ctx) {
      await ctx.step(`complete:${ctx.index}:set_comment`, async (c) => {
        const text = def.comment === null ? "NULL" : literal(def.comment);
        if (!(await tableExists(c, ctx.schema, table))) return;
        if (column === undefined) {
          await c.query(`COMMENT ON TABLE ${qualified(ctx.schema, table)} IS ${text}`);
          return;
        }
        // The new column carries its physical name until the operation that
        // shadows or renames it completes, and its final name after.
        const physical = finalColumn(ctx, table, column, label);
        const named = ctx.final.tables
          .find((t) => t.physical === table)
          ?.columns.find((x) => x.physical === physical)?.name;
        for (const candidate of [physical, named]) {
          if (candidate && (await columnExists(c, ctx.schema, table, candidate))) {
            await c.query(`COMMENT ON COLUMN ${qualified(ctx.schema, table)}.${ident(candidate)} IS ${text}`);
            return;
          }
        }
      });
    },
    async rollback() {},
    touches: () => [`${target}:comment`],
  };
}
