/**
 * Batched backfill through the dual-write trigger.
 *
 * - Keyset batches over the primary key (`WHERE key > cursor ORDER BY key
 *   LIMIT n`), never OFFSET, so each batch costs the same.
 * - Bounded: the upper key is fixed when the backfill starts (after the
 *   trigger exists), so rows inserted meanwhile — already written by the
 *   trigger — never extend the work and the backfill finishes under any
 *   insert rate.
 * - Each batch updates its rows (`SET col = col`, which makes the trigger
 *   compute the new column) and advances the persisted cursor in the SAME
 *   transaction: a crash loses at most one uncommitted batch, and a restart
 *   resumes at the cursor.
 * - Every batch runs with lock_timeout (row locks held by app transactions
 *   included) and retries, and `delayMs` between batches leaves room for
 *   production writes and replication.
 */
import type { Pool } from "pg";
import { keyColumns } from "./catalog";
import { type DdlPolicy, inTransaction } from "./ddl";
import { ident, qualified } from "./sql";
import { STATE_SCHEMA } from "./state";
import { MigrationError } from "./types";

export interface BackfillOptions {
  batchSize: number;
  delayMs: number;
}

export interface BackfillProgress {
  table: string;
  rowsDone: number;
  batches: number;
  done: boolean;
}

export async function runBackfill(args: {
  pool: Pool;
  policy: DdlPolicy;
  schema: string;
  table: string;
  touchColumn: string;
  migrationId: number;
  opIndex: number;
  options: BackfillOptions;
  /** Called after each committed batch (tests, progress, heartbeats). */
  onBatch?: (p: BackfillProgress) => void | Promise<void>;
}): Promise<BackfillProgress> {
  const { pool, policy, schema, table, touchColumn, migrationId, opIndex, options } = args;
  const key = await keyColumns(pool, schema, table);
  if (key.length === 0) {
    throw new MigrationError(
      "VALIDATION",
      `backfill of ${schema}.${table} needs a primary key (or a unique index on NOT NULL columns)`,
    );
  }
  const keyList = key.map((k) => ident(k.name)).join(", ");
  // Every column descends (`a, b DESC` would sort only b): the largest key of a composite key.
  const keyListDesc = key.map((k) => `${ident(k.name)} DESC`).join(", ");
  const keyTuple = `(${keyList})`;
  const params = (offset: number) => `(${key.map((k, i) => `$${offset + i}::text::${k.type}`).join(", ")})`;
  const keyAsText = `jsonb_build_array(${key.map((k) => `${ident(k.name)}::text`).join(", ")})`;
  const tbl = qualified(schema, table);

  // Fix the upper bound once; ON CONFLICT keeps the first bound on resume.
  await pool.query(
    `INSERT INTO ${STATE_SCHEMA}.backfills (migration_id, op_index, table_name, upper_bound, done)
     SELECT $1, $2, $3, b.k, b.k IS NULL
       FROM (SELECT (SELECT ${keyAsText} FROM ${tbl} ORDER BY ${keyListDesc} LIMIT 1) AS k) b
     ON CONFLICT (migration_id, op_index) DO NOTHING`,
    [migrationId, opIndex, table],
  );

  for (;;) {
    const st = await pool.query(
      `SELECT upper_bound, cursor, rows_done, batches, done FROM ${STATE_SCHEMA}.backfills
        WHERE migration_id = $1 AND op_index = $2`,
      [migrationId, opIndex],
    );
    const s = st.rows[0];
    const progress: BackfillProgress = {
      table,
      rowsDone: Number(s.rows_done),
      batches: Number(s.batches),
      done: Boolean(s.done),
    };
    if (progress.done) return progress;
    const bound = s.upper_bound as string[];
    const cursor = s.cursor as string[] | null;
    const values: unknown[] = [...bound];
    let where = `${keyTuple} <= ${params(1)}`;
    if (cursor) {
      where += ` AND ${keyTuple} > ${params(bound.length + 1)}`;
      values.push(...cursor);
    }
    values.push(options.batchSize);
    const limit = `$${values.length}`;
    const joinOn = key.map((k) => `t.${ident(k.name)} = b.${ident(k.name)}`).join(" AND ");
    await inTransaction(pool, policy, `backfill ${table}`, async (c) => {
      // The session flag tells dual-write triggers this write is a backfill, so
      // they fill columns that were never written (see operations/triggers.ts).
      await c.query("SET LOCAL shipshape.backfill = 'on'");
      const r = await c.query<{ n: string; nb: string; last: string[] | null }>(
        `WITH b AS (SELECT ${keyList} FROM ${tbl} WHERE ${where} ORDER BY ${keyList} LIMIT ${limit}),
              u AS (UPDATE ${tbl} t SET ${ident(touchColumn)} = t.${ident(touchColumn)} FROM b WHERE ${joinOn}
                    RETURNING 1)
         SELECT (SELECT count(*) FROM u) AS n, (SELECT count(*) FROM b) AS nb,
                (SELECT ${keyAsText} FROM b ORDER BY ${keyListDesc} LIMIT 1) AS last`,
        values,
      );
      const n = Number(r.rows[0]?.n ?? 0);
      const nb = Number(r.rows[0]?.nb ?? 0);
      const last = r.rows[0]?.last ?? null;
      await c.query(
        `UPDATE ${STATE_SCHEMA}.backfills
            SET cursor = COALESCE($3::jsonb, cursor), rows_done = rows_done + $4, batches = batches + 1,
                done = $5, updated_at = now()
          WHERE migration_id = $1 AND op_index = $2`,
        [
          migrationId,
          opIndex,
          last ? JSON.stringify(last) : null,
          n,
          last === null || nb < options.batchSize,
        ],
      );
    });
    const after = await pool.query(
      `SELECT rows_done, batches, done FROM ${STATE_SCHEMA}.backfills WHERE migration_id = $1 AND op_index = $2`,
      [migrationId, opIndex],
    );
    const a = after.rows[0];
    const p = { table, rowsDone: Number(a.rows_done), batches: Number(a.batches), done: Boolean(a.done) };
    await args.onBatch?.(p);
    if (p.done) return p;
    if (options.delayMs > 0) await new Promise((r) => setTimeout(r, options.delayMs));
  }
}
