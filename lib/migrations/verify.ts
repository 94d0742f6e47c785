/**
 * The gate the workflow runs after expand and before any traffic shifts.
 * Read-only: every probe that writes does so inside a transaction that is
 * rolled back.
 *
 *  1. both versions' views compile (each is planned and read: `LIMIT 0`);
 *  2. round-trip probes per dual-written column: write a real value through
 *     the OLD version, read through the NEW one and compare with `up`; write
 *     through the NEW version, read through the OLD one and compare with
 *     `down`; plus a write through each version for every other table both see;
 *  3. every backfill finished;
 *  4. constraints complete will VALIDATE have no violating rows;
 *  5. no INVALID index (a failed CREATE INDEX CONCURRENTLY).
 */
import type { Pool, PoolClient, QueryConfig } from "pg";
import { keyColumns } from "./catalog";
import { oneStatementClient } from "./ddl";
import { ident, qualified } from "./sql";
import { type MigrationRow, STATE_SCHEMA } from "./state";
import type { OpContext, Operation, SchemaModel } from "./types";

export interface VerifyCheck {
  name: string;
  ok: boolean;
  detail?: string;
}

export interface VerifyResult {
  ok: boolean;
  migration: string;
  checks: VerifyCheck[];
}

async function viewsOf(pool: Pool, schema: string): Promise<string[]> {
  const r = await pool.query<{ name: string }>(
    "SELECT table_name AS name FROM information_schema.views WHERE table_schema = $1 ORDER BY 1",
    [schema],
  );
  return r.rows.map((x) => x.name);
}

async function compileChecks(
  pool: Pool,
  schema: string,
  label: string,
  expected: string[],
): Promise<VerifyCheck> {
  const views = await viewsOf(pool, schema);
  const missing = expected.filter((t) => !views.includes(t));
  const broken: string[] = [];
  for (const v of views) {
    try {
      await pool.query(`SELECT * FROM ${qualified(schema, v)} LIMIT 0`);
    } catch (err) {
      broken.push(`${v}: ${(err as Error).message}`);
    }
  }
  const ok = missing.length === 0 && broken.length === 0;
  return {
    name: `${label} views compile (${schema})`,
    ok,
    detail: ok
      ? `${views.length} views`
      : [missing.length ? `missing: ${missing.join(", ")}` : "", ...broken].filter(Boolean).join("; "),
  };
}

/** One probe inside its own savepoint; returns a failure message or null. */
async function probe(c: PoolClient, fn: () => Promise<string | null>): Promise<string | null> {
  await c.query("SAVEPOINT probe");
  try {
    const r = await fn();
    await c.query("ROLLBACK TO SAVEPOINT probe");
    return r;
  } catch (err) {
    await c.query("ROLLBACK TO SAVEPOINT probe");
    return (err as Error).message;
  }
}

export async function verifyMigration(args: {
  pool: Pool;
  row: MigrationRow;
  ops: Operation[];
  ctxs: OpContext[];
  newModel: SchemaModel;
}): Promise<VerifyResult> {
  const { pool, row, ops, ctxs } = args;
  const checks: VerifyCheck[] = [];
  const oldSchema = row.previousVersionSchema ?? row.baseSchema;
  const oldModel = row.baseModel;
  const newSchema = row.versionSchema;

  if (row.previousVersionSchema) {
    checks.push(
      await compileChecks(
        pool,
        oldSchema,
        "old version",
        oldModel.tables.map((t) => t.name),
      ),
    );
  }
  const newViews = await viewsOf(pool, newSchema);
  checks.push(
    await compileChecks(
      pool,
      newSchema,
      "new version",
      args.newModel.tables.map((t) => t.name),
    ),
  );

  // Round trips, all inside one transaction that is rolled back.
  // Probes splice migration-file expressions: sent as exactly one statement each, like every step.
  const raw = await pool.connect();
  const c = oneStatementClient(raw);
  const failures: string[] = [];
  let probes = 0;
  try {
    await c.query("BEGIN");
    await c.query("SET LOCAL lock_timeout = '2s'");
    const dualTables = new Set<string>();
    for (let i = 0; i < ops.length; i++) {
      const ctx = ctxs[i]!;
      for (const dw of ops[i]!.dualWrites?.(ctx) ?? []) {
        dualTables.add(dw.table);
        const newT = args.newModel.tables.find((t) => t.name === dw.table);
        const oldT = oldModel.tables.find((t) => t.name === dw.oldTable);
        if (!newT || !oldT) continue;
        const key = await keyColumns(c, row.baseSchema, newT.physical);
        if (!key.length) continue;
        const keyOld = key.map((k) => oldT.columns.find((x) => x.physical === k.name)?.name ?? k.name);
        const keyNew = key.map((k) => newT.columns.find((x) => x.physical === k.name)?.name ?? k.name);
        const sample = await c.query(
          `SELECT ${key.map((k, j) => `${ident(k.name)}::text AS k${j}`).join(", ")} FROM ${qualified(row.baseSchema, newT.physical)} ORDER BY ${key.map((k) => ident(k.name)).join(", ")} LIMIT 2`,
        );
        if (!sample.rows.length) continue;
        const keyVals = (r: Record<string, string>) => key.map((_, j) => r[`k${j}`]);
        const whereOld = keyOld.map((k, j) => `${ident(k)}::text = $${j + 1}`).join(" AND ");
        const whereNew = keyNew.map((k, j) => `${ident(k)}::text = $${j + 1}`).join(" AND ");
        const target = keyVals(sample.rows[0]);
        const other = keyVals(sample.rows[sample.rows.length - 1]);
        const oldView = qualified(oldSchema, dw.oldTable);
        const newView = qualified(newSchema, dw.table);
        const label = `${dw.table}.${dw.newColumn ?? dw.oldColumn}`;
        if (dw.oldColumn && dw.up && dw.newColumn) {
          const oc = ident(dw.oldColumn);
          const nc = ident(dw.newColumn);
          probes++;
          const err = await probe(c, async () => {
            await c.query(
              `UPDATE ${oldView} SET ${oc} = (SELECT ${oc} FROM ${oldView} WHERE ${whereOld.replace(/\$(\d+)/g, (_, n) => `$${Number(n) + key.length}`)}) WHERE ${whereOld}`,
              [...target, ...other],
            );
            const r = await c.query(
              `SELECT (SELECT ${nc} FROM ${newView} WHERE ${whereNew}) IS NOT DISTINCT FROM (SELECT ${dw.up} FROM ${oldView} WHERE ${whereOld}) AS ok`,
              target,
            );
            if (!r.rows[0]?.ok)
              return `write through old, read through new: ${label} differs from up(${dw.oldColumn})`;
            if (!dw.down) return null;
            // …and back: down(up(v)) must give the old version its own value again.
            const back = await c.query(
              `SELECT (SELECT ${oc} FROM ${oldView} WHERE ${whereOld}) IS NULL
                   OR (SELECT ${dw.down} FROM ${newView} WHERE ${whereNew}) IS NOT DISTINCT FROM (SELECT ${oc} FROM ${oldView} WHERE ${whereOld}) AS ok`,
              target,
            );
            return back.rows[0]?.ok
              ? null
              : `does not round-trip: down(up(${dw.oldColumn})) ≠ ${dw.oldColumn}`;
          });
          if (err) failures.push(`${label} (old → new): ${err}`);
        }
        if (dw.newColumn && dw.down && dw.oldColumn) {
          const oc = ident(dw.oldColumn);
          const nc = ident(dw.newColumn);
          probes++;
          const err = await probe(c, async () => {
            await c.query(
              `UPDATE ${newView} SET ${nc} = (SELECT ${nc} FROM ${newView} WHERE ${whereNew.replace(/\$(\d+)/g, (_, n) => `$${Number(n) + key.length}`)}) WHERE ${whereNew}`,
              [...target, ...other],
            );
            const r = await c.query(
              `SELECT (SELECT ${oc} FROM ${oldView} WHERE ${whereOld}) IS NOT DISTINCT FROM (SELECT ${dw.down} FROM ${newView} WHERE ${whereNew}) AS ok`,
              target,
            );
            if (!r.rows[0]?.ok)
              return `write through new, read through old: ${label} differs from down(${dw.newColumn})`;
            if (!dw.up) return null;
            const back = await c.query(
              `SELECT (SELECT ${nc} FROM ${newView} WHERE ${whereNew}) IS NULL
                   OR (SELECT ${dw.up} FROM ${oldView} WHERE ${whereOld}) IS NOT DISTINCT FROM (SELECT ${nc} FROM ${newView} WHERE ${whereNew}) AS ok`,
              target,
            );
            return back.rows[0]?.ok
              ? null
              : `does not round-trip: up(down(${dw.newColumn})) ≠ ${dw.newColumn}`;
          });
          if (err) failures.push(`${label} (new → old): ${err}`);
        }
      }
    }
    // Every other table both versions see: one write through each version's view.
    for (const t of args.newModel.tables) {
      const oldT = oldModel.tables.find((x) => x.physical === t.physical);
      if (!oldT || dualTables.has(t.name) || !newViews.includes(t.name)) continue;
      const key = await keyColumns(c, row.baseSchema, t.physical);
      if (!key.length) continue;
      const sample = await c.query(
        `SELECT ${key.map((k, j) => `${ident(k.name)}::text AS k${j}`).join(", ")} FROM ${qualified(row.baseSchema, t.physical)} LIMIT 1`,
      );
      const first = sample.rows[0];
      if (!first) continue;
      const vals = key.map((_, j) => first[`k${j}`]);
      const names = (m: typeof t) => key.map((k) => m.columns.find((x) => x.physical === k.name)?.name);
      const kNew = names(t);
      const kOld = names(oldT);
      if (kNew.some((x) => !x) || kOld.some((x) => !x)) continue;
      const where = (cols: Array<string | undefined>) =>
        cols.map((k, j) => `${ident(k!)}::text = $${j + 1}`).join(" AND ");
      probes++;
      const err = await probe(c, async () => {
        const a = await c.query(
          `UPDATE ${qualified(oldSchema, oldT.name)} SET ${ident(kOld[0]!)} = ${ident(kOld[0]!)} WHERE ${where(kOld)}`,
          vals,
        );
        const b = await c.query(
          `UPDATE ${qualified(newSchema, t.name)} SET ${ident(kNew[0]!)} = ${ident(kNew[0]!)} WHERE ${where(kNew)}`,
          vals,
        );
        return a.rowCount === 1 && b.rowCount === 1
          ? null
          : "row written through one version is not visible through the other";
      });
      if (err) failures.push(`${t.name}: ${err}`);
    }
  } finally {
    await c.query("ROLLBACK").catch(() => undefined);
    raw.release();
  }
  checks.push({
    name: "round-trip probes (old ⇄ new, rolled back)",
    ok: failures.length === 0,
    detail: failures.length ? failures.join("; ") : `${probes} probes`,
  });

  const bf = await pool.query<{ table_name: string; done: boolean; rows_done: string }>(
    `SELECT table_name, done, rows_done FROM ${STATE_SCHEMA}.backfills WHERE migration_id = $1`,
    [row.id],
  );
  const expectedBackfills = ops.filter((op, i) => op.backfill?.(ctxs[i]!)).length;
  const unfinished = bf.rows.filter((b) => !b.done).map((b) => `${b.table_name} at ${b.rows_done} rows`);
  checks.push({
    name: "backfill finished",
    ok: unfinished.length === 0 && bf.rows.length >= expectedBackfills,
    detail: unfinished.length
      ? `unfinished: ${unfinished.join(", ")}`
      : bf.rows.length < expectedBackfills
        ? `${expectedBackfills - bf.rows.length} backfill(s) not started`
        : `${bf.rows.length} backfill(s), ${bf.rows.reduce((s, b) => s + Number(b.rows_done), 0)} rows`,
  });

  const violations: string[] = [];
  let pending = 0;
  for (let i = 0; i < ops.length; i++) {
    for (const pc of ops[i]!.pendingChecks?.(ctxs[i]!) ?? []) {
      pending++;
      try {
        const r = await pool.query<{ violations: string }>({
          text: pc.sql,
          queryMode: "extended",
        } as QueryConfig);
        const n = Number(r.rows[0]?.violations ?? 0);
        if (n > 0) violations.push(`${pc.name}: ${n} row(s) would fail`);
      } catch (err) {
        violations.push(`${pc.name}: ${(err as Error).message}`);
      }
    }
  }
  checks.push({
    name: "pending constraints would validate",
    ok: violations.length === 0,
    detail: violations.length ? violations.join("; ") : `${pending} constraint(s)`,
  });

  const invalid = await pool.query<{ name: string }>(
    `SELECT ic.relname AS name FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
       JOIN pg_namespace n ON n.oid = ic.relnamespace
      WHERE n.nspname = $1 AND NOT (i.indisvalid AND i.indisready)`,
    [row.baseSchema],
  );
  checks.push({
    name: "no invalid indexes",
    ok: invalid.rows.length === 0,
    detail: invalid.rows.length ? invalid.rows.map((r) => r.name).join(", ") : undefined,
  });

  return { ok: checks.every((c) => c.ok), migration: row.name, checks };
}
