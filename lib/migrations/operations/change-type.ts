/**
 * change_type (optionally renaming the column at the same time): a shadow
 * column of the new type kept in sync both ways by `up` / `down` (see shadow.ts).
 */
import { z } from "zod";
import type { Operation } from "../types";
import { Cascade, Name, Sql } from "./common";
import { shadowOperation } from "./shadow";

export const kind = "change_type";
export const schema = z.strictObject({
  table: Name,
  column: Name,
  type: Sql,
  /** Expression over the old version's columns: the new value. */
  up: Sql,
  /** Expression over the new version's columns: the old value. */
  down: Sql,
  /** New name of the column in the new version. */
  name: Name.optional(),
  default: Sql.nullable().optional(),
  /** up and down are each other's inverse: verify then demands the round trip instead of reporting it. */
  lossless: z.boolean().optional(),
  /** Drop the old column with CASCADE on complete (default RESTRICT: what depends on it stops the contract). */
  cascade: Cascade,
});
export type ChangeType = z.infer<typeof schema>;

export function create(def: ChangeType): Operation {
  return shadowOperation({
    kind,
    table: def.table,
    column: def.column,
    newName: def.name,
    type: def.type,
    up: def.up,
    down: def.down,
    default: def.default,
    lossless: def.lossless,
    cascade: def.cascade,
    describe: `change type of ${def.table}.${def.column} to ${def.type}${def.name ? ` as ${def.name}` : ""}`,
  });
}
