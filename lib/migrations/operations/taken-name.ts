/** Preflight shared by the operations that create a named constraint or index. */
import { constraintExists } from "../catalog";
import { qualified } from "../sql";
import { MigrationError, type PreflightContext, type Queryable } from "../types";
import { dependentsOf } from "./carry-over";

/**
 * Refuses a constraint or index name that is already taken on `table` (or,
 * for an index, by any relation of the schema). Building "over" an existing
 * object would make start treat it as its own and rollback drop it; when it
 * is on a column the migration shadows, it needs no repeating at all.
 */
export async function refuseTakenName(
  c: Queryable,
  p: PreflightContext,
  args: { table: string; name: string; relation: boolean; label: string },
): Promise<void> {
  const { table, name, label } = args;
  const relation = args.relation
    ? (await c.query("SELECT to_regclass($1) IS NOT NULL AS ok", [qualified(p.schema, name)])).rows[0]?.ok
    : false;
  if (!relation && !(await constraintExists(c, p.schema, table, name))) return;
  for (const s of p.shadowed.filter((x) => x.table === table)) {
    if ((await dependentsOf(c, p.schema, table, s.column)).some((d) => d.name === name)) {
      throw new MigrationError(
        "VALIDATION",
        `${label}: ${name} already exists on ${table}; it covers ${table}.${s.column}, which ${s.by} shadows ` +
          "in this migration, so it is carried over to the new column automatically: remove this operation",
      );
    }
  }
  throw new MigrationError(
    "VALIDATION",
    `${label}: ${name} already exists ${relation ? `in schema ${p.schema}` : `on ${table}`}; ` +
      "drop it in an earlier migration or choose another name",
  );
}
