/**
 * drop_not_null: the new version may write NULLs; `down` gives the old
 * version (whose column stays NOT NULL) a value for them.
 */
import { z } from "zod";
import { ident } from "../sql";
import type { Operation } from "../types";
import { Cascade, Name, Sql } from "./common";
import { shadowOperation } from "./shadow";

export const kind = "drop_not_null";
export const schema = z.strictObject({
  table: Name,
  column: Name,
  /** Value of the old (NOT NULL) column from the new row, e.g. `COALESCE(description, '')`. */
  down: Sql,
  up: Sql.optional(),
  /** up and down are each other's inverse: verify then demands the round trip instead of reporting it. */
  lossless: z.boolean().optional(),
  /** Drop the old column with CASCADE on complete (default RESTRICT: what depends on it stops the contract). */
  cascade: Cascade,
});
export type DropNotNull = z.infer<typeof schema>;

export function create(def: DropNotNull): Operation {
  return shadowOperation({
    kind,
    table: def.table,
    column: def.column,
    up: def.up ?? ident(def.column),
    down: def.down,
    notNull: false,
    lossless: def.lossless,
    cascade: def.cascade,
    describe: `drop NOT NULL of ${def.table}.${def.column}`,
  });
}
