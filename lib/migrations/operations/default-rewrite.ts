/**
 * Whether `ALTER TABLE … ADD COLUMN … DEFAULT <expr>` would rewrite the
 * table. PostgreSQL 11+ stores a non-volatile default once (a "missing
 * value", `atthasmissing`) and touches no row; a volatile one (random(),
 * gen_random_uuid(), nextval()) or a domain with constraints makes it
 * rewrite every row under ACCESS EXCLUSIVE. Rather than guess from the
 * expression's text, ask PostgreSQL: add the same column to a one-row
 * temporary table inside a savepoint and see whether it kept a missing value.
 */
import type { PoolClient } from "pg";

/** Must run inside a transaction; leaves nothing behind. */
export async function defaultRewritesTable(
  c: PoolClient,
  type: string,
  expression: string,
): Promise<boolean> {
  await c.query("SAVEPOINT _ss_default");
  try {
    await c.query("CREATE TEMP TABLE _ss_default_probe (x int)");
    await c.query("INSERT INTO _ss_default_probe VALUES (1)");
    await c.query(`ALTER TABLE _ss_default_probe ADD COLUMN probe ${type} DEFAULT ${expression}`);
    const r = await c.query<{ missing: boolean }>(
      `SELECT atthasmissing AS missing FROM pg_attribute
        WHERE attrelid = 'pg_temp._ss_default_probe'::regclass AND attname = 'probe'`,
    );
    return !r.rows[0]?.missing;
  } finally {
    await c.query("ROLLBACK TO SAVEPOINT _ss_default");
  }
}
