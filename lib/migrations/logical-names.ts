/**
 * Expressions in migration files (a check, an index predicate) name columns
 * as a version sees them, but constraints and indexes live on physical
 * columns: while a migration runs, the new version's `title` may be the
 * shadow `_ss_new_title`, and the old `title` is another column.
 *
 * Rewriting SQL text to swap names is fragile (strings, casts, function
 * names, subqueries). PostgreSQL binds the names instead: inside the
 * caller's transaction, the physical columns are briefly renamed to the
 * names the expression uses, the constraint is created, and the old names
 * are restored. A constraint refers to columns by number, so it follows them
 * back. The renames hold the table's ACCESS EXCLUSIVE lock until the
 * transaction ends (under the step's lock_timeout), so no other session ever
 * sees them; when every name already matches, nothing is renamed.
 */
import type { PoolClient } from "pg";
import { INTERNAL_PREFIX, ident, qualified } from "./sql";
import { finalPhysical, findTable, type OpContext } from "./types";

/** A name an expression may use, and the physical column it must mean. */
export interface NameBinding {
  name: string;
  physical: string;
}

/**
 * The names an operation's expression may use on `table` (as the version at
 * the operation's position sees it), each bound to the column that backs it
 * in the new version; columns a later operation drops are left out, so an
 * expression naming one fails instead of landing on a column complete drops.
 */
export function bindingsAt(ctx: OpContext, table: string, op: string): NameBinding[] {
  const t = findTable(ctx.after, table, op);
  return t.columns.flatMap((c) => {
    const physical = finalPhysical(ctx.final, t.physical, c.physical);
    return physical ? [{ name: c.name, physical }] : [];
  });
}

const temporary = (attnum: number) => `${INTERNAL_PREFIX}b${attnum}`;

async function renames(c: PoolClient, tbl: string, pairs: Array<[string, string]>): Promise<void> {
  for (const [from, to] of pairs) {
    if (from !== to) await c.query(`ALTER TABLE ${tbl} RENAME COLUMN ${ident(from)} TO ${ident(to)}`);
  }
}

interface RenamePlan {
  toTemporary: Array<[string, string]>;
  toLogical: Array<[string, string]>;
}

/** The renames that give `table`'s columns the names of `bindings`; null when they already carry them. */
async function renamePlan(
  c: PoolClient,
  schema: string,
  table: string,
  bindings: NameBinding[],
): Promise<RenamePlan | null> {
  const cols = await c.query<{ attnum: number; name: string }>(
    `SELECT attnum, attname AS name FROM pg_attribute
      WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped`,
    [qualified(schema, table)],
  );
  const bound = new Map(bindings.map((b) => [b.physical, b.name]));
  // Engine columns (`_ss_…`) stay where they are unless bound: no expression names them.
  const moving = cols.rows.filter((x) => bound.has(x.name) || !x.name.startsWith(INTERNAL_PREFIX));
  if (moving.every((x) => bound.get(x.name) === x.name)) return null;
  const attnum = new Map(cols.rows.map((x) => [x.name, x.attnum]));
  return {
    toTemporary: moving.map((x) => [x.name, temporary(x.attnum)]),
    toLogical: bindings.map((b) => [temporary(attnum.get(b.physical) ?? -1), b.name]),
  };
}

/**
 * Runs `fn` (inside the caller's transaction) while the columns of `table`
 * carry the names of `bindings`; every other application column is hidden
 * under a temporary name, so an expression naming it fails.
 */
export async function withLogicalNames<T>(
  c: PoolClient,
  schema: string,
  table: string,
  bindings: NameBinding[],
  fn: () => Promise<T>,
): Promise<T> {
  const plan = await renamePlan(c, schema, table, bindings);
  if (!plan) return fn();
  const tbl = qualified(schema, table);
  const back = (pairs: Array<[string, string]>) => pairs.map(([a, b]): [string, string] => [b, a]);
  await renames(c, tbl, plan.toTemporary);
  await renames(c, tbl, plan.toLogical);
  const out = await fn();
  await renames(c, tbl, back(plan.toLogical));
  await renames(c, tbl, back(plan.toTemporary));
  return out;
}

/**
 * `expression` over `bindings`' names, rewritten by PostgreSQL over physical
 * names (for statements that cannot run in a transaction, such as CREATE
 * INDEX CONCURRENTLY … WHERE). Must run inside a transaction; leaves nothing.
 */
export async function physicalExpression(
  c: PoolClient,
  schema: string,
  table: string,
  bindings: NameBinding[],
  expression: string,
): Promise<string> {
  if (!(await renamePlan(c, schema, table, bindings))) return expression;
  const probe = `${INTERNAL_PREFIX}expression`;
  const tbl = qualified(schema, table);
  await c.query("SAVEPOINT _ss_expression");
  try {
    await withLogicalNames(c, schema, table, bindings, () =>
      c.query(`ALTER TABLE ${tbl} ADD CONSTRAINT ${ident(probe)} CHECK (${expression}) NOT VALID`),
    );
    // The names are restored by now, so PostgreSQL deparses over the physical ones.
    const r = await c.query<{ expr: string }>(
      "SELECT pg_get_expr(conbin, conrelid) AS expr FROM pg_constraint WHERE conrelid = $1::regclass AND conname = $2",
      [tbl, probe],
    );
    return r.rows[0]!.expr;
  } finally {
    await c.query("ROLLBACK TO SAVEPOINT _ss_expression");
  }
}
