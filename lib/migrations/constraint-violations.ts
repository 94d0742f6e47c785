/**
 * Rows that would make `ALTER TABLE … VALIDATE CONSTRAINT` fail, counted
 * from the constraint as PostgreSQL stored it (expression and columns as
 * bound, shadow columns included), so verify predicts exactly what complete
 * will check.
 */
import { ident, qualified } from "./sql";
import type { Queryable } from "./types";

interface ConstraintRow {
  contype: string;
  validated: boolean;
  expr: string | null;
  columns: string[];
  ref_table: string | null;
  ref_columns: string[] | null;
}

/** 0 when the constraint does not exist or is already validated. */
export async function countViolations(
  c: Queryable,
  schema: string,
  table: string,
  constraint: string,
): Promise<number> {
  const tbl = qualified(schema, table);
  const r = await c.query<ConstraintRow>(
    `SELECT co.contype, co.convalidated AS validated, pg_get_expr(co.conbin, co.conrelid) AS expr,
            ARRAY(SELECT a.attname FROM unnest(co.conkey) WITH ORDINALITY k(n, i)
                    JOIN pg_attribute a ON a.attrelid = co.conrelid AND a.attnum = k.n ORDER BY k.i)::text[] AS columns,
            co.confrelid::regclass::text AS ref_table,
            ARRAY(SELECT a.attname FROM unnest(co.confkey) WITH ORDINALITY k(n, i)
                    JOIN pg_attribute a ON a.attrelid = co.confrelid AND a.attnum = k.n ORDER BY k.i)::text[] AS ref_columns
       FROM pg_constraint co WHERE co.conrelid = to_regclass($1) AND co.conname = $2`,
    [tbl, constraint],
  );
  const con = r.rows[0];
  if (!con || con.validated) return 0;
  let sql: string;
  if (con.contype === "c") sql = `SELECT count(*) AS n FROM ${tbl} WHERE NOT (${con.expr})`;
  else if (con.contype === "f") {
    const given = con.columns.map((x) => `t.${ident(x)} IS NOT NULL`).join(" AND ");
    const match = con.columns
      .map((x, i) => `r.${ident(con.ref_columns?.[i] ?? x)} = t.${ident(x)}`)
      .join(" AND ");
    sql = `SELECT count(*) AS n FROM ${tbl} t WHERE ${given}
             AND NOT EXISTS (SELECT 1 FROM ${con.ref_table} r WHERE ${match})`;
  } else return 0;
  const n = await c.query<{ n: string }>(sql);
  return Number(n.rows[0]?.n ?? 0);
}
