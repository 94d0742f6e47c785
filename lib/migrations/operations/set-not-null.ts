/**
 * set_not_null: the old version may keep writing NULLs; `up` turns them into
 * a value for the new version's (shadow) column, which becomes NOT NULL on
 * complete. The old column is never rewritten, so a rollback leaves blue's
 * data exactly as blue wrote it.
 */
import { z } from "zod";
import { ident } from "../sql";
import type { Operation } from "../types";
import { Cascade, Name, Sql } from "./common";
import { shadowOperation } from "./shadow";

export const kind = "set_not_null";
export const schema = z.strictObject({
  table: Name,
  column: Name,
  /** Value of the new column from the old row, e.g. `COALESCE(description, '')`. */
  up: Sql,
  /** Value of the old column from the new row (defaults to the new column itself). */
  down: Sql.optional(),
  /** up and down are each other's inverse: verify then demands the round trip instead of reporting it. */
  lossless: z.boolean().optional(),
  /** Drop the old column with CASCADE on complete (default RESTRICT: what depends on it stops the contract). */
  cascade: Cascade,
});
export type SetNotNull = z.infer<typeof schema>;

export function create(def: SetNotNull): Operation {
  return shadowOperation({
    kind,
    table: def.table,
    column: def.column,
    up: def.up,
    down: def.down ?? ident(def.column),
    notNull: true,
    lossless: def.lossless,
    cascade: def.cascade,
    describe: `set ${def.table}.${def.column} NOT NULL`,
  });
}
