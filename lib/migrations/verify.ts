/**
 * The gate the workflow runs after expand and before any traffic shifts.
 * Read-only: every probe that writes does so inside a transaction that is
 * rolled back.
 *
 *  1. both versions' views compile (each is planned and read: `LIMIT 0`);
 *  2. probes: every dual-written column's `up` / `down`, compiled as its
 *     trigger compiles them, on a sample of real rows (verify-round-trips.ts;
 *     round trips demanded only of changes declared lossless), and a write
 *     through each version's view of every table both see (verify-writes.ts);
 *  3. every backfill finished;
 *  4. constraints complete will VALIDATE have no violating rows (counted
 *     from the catalog, as PostgreSQL bound them);
 *  5. no INVALID index (a failed CREATE INDEX CONCURRENTLY).
 */
import type { Pool } from "pg";
import { countViolations } from "./constraint-violations";
import { oneStatementClient } from "./ddl";
import { qualified } from "./sql";
import { type MigrationRow, STATE_SCHEMA } from "./state";
import type { DualWrite, OpContext, Operation, SchemaModel } from "./types";
import { probeDualWrites } from "./verify-round-trips";
import { probeWritesThroughViews } from "./verify-writes";

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

interface VerifyArgs {
  pool: Pool;
  row: MigrationRow;
  ops: Operation[];
  ctxs: OpContext[];
  newModel: SchemaModel;
}

export async function verifyMigration(args: VerifyArgs): Promise<VerifyResult> {
  const { pool, row } = args;
  const checks: VerifyCheck[] = [];
  const oldSchema = row.previousVersionSchema ?? row.baseSchema;
  if (row.previousVersionSchema) {
    const expected = row.baseModel.tables.map((t) => t.name);
    checks.push(await compileChecks(pool, oldSchema, "old version", expected));
  }
  const newViews = await viewsOf(pool, row.versionSchema);
  const expected = args.newModel.tables.map((t) => t.name);
  checks.push(await compileChecks(pool, row.versionSchema, "new version", expected));
  checks.push(await probeCheck(args, oldSchema, newViews));
  checks.push(await backfillCheck(args));
  checks.push(await pendingCheck(args));
  checks.push(await invalidIndexCheck(pool, row.baseSchema));
  return { ok: checks.every((c) => c.ok), migration: row.name, checks };
}

/** Probes, all inside one transaction that is rolled back. */
async function probeCheck(args: VerifyArgs, oldSchema: string, newViews: string[]): Promise<VerifyCheck> {
  const { row } = args;
  const writes: DualWrite[] = [];
  for (let i = 0; i < args.ops.length; i++)
    writes.push(...((await args.ops[i]!.dualWrites?.(args.ctxs[i]!)) ?? []));
  // Probes splice migration-file expressions: sent as exactly one statement each, like every step.
  const c = oneStatementClient(await args.pool.connect());
  try {
    await c.query("BEGIN");
    await c.query("SET LOCAL lock_timeout = '2s'");
    const trips = await probeDualWrites(c, row.baseSchema, writes);
    const views = await probeWritesThroughViews(c, {
      schema: row.baseSchema,
      oldSchema,
      newSchema: row.versionSchema,
      oldModel: row.baseModel,
      newModel: args.newModel,
      newViews,
    });
    const failures = [...trips.failures, ...views.failures];
    const summary = `${trips.probes + views.probes} probes`;
    return {
      name: "round-trip probes (old ⇄ new, rolled back)",
      ok: failures.length === 0,
      detail: failures.length ? failures.join("; ") : [summary, ...trips.reports].join("; "),
    };
  } finally {
    await c.query("ROLLBACK").catch(() => undefined);
    c.release();
  }
}

async function backfillCheck(args: VerifyArgs): Promise<VerifyCheck> {
  const bf = await args.pool.query<{ table_name: string; done: boolean; rows_done: string }>(
    `SELECT table_name, done, rows_done FROM ${STATE_SCHEMA}.backfills WHERE migration_id = $1`,
    [args.row.id],
  );
  let expectedBackfills = 0;
  for (let i = 0; i < args.ops.length; i++) {
    if (await args.ops[i]!.backfill?.(args.ctxs[i]!)) expectedBackfills++;
  }
  const unfinished = bf.rows.filter((b) => !b.done).map((b) => `${b.table_name} at ${b.rows_done} rows`);
  return {
    name: "backfill finished",
    ok: unfinished.length === 0 && bf.rows.length >= expectedBackfills,
    detail: unfinished.length
      ? `unfinished: ${unfinished.join(", ")}`
      : bf.rows.length < expectedBackfills
        ? `${expectedBackfills - bf.rows.length} backfill(s) not started`
        : `${bf.rows.length} backfill(s), ${bf.rows.reduce((s, b) => s + Number(b.rows_done), 0)} rows`,
  };
}

async function pendingCheck(args: VerifyArgs): Promise<VerifyCheck> {
  const violations: string[] = [];
  let pending = 0;
  for (let i = 0; i < args.ops.length; i++) {
    for (const pc of (await args.ops[i]!.pendingChecks?.(args.ctxs[i]!)) ?? []) {
      pending++;
      try {
        const n = await countViolations(args.pool, args.row.baseSchema, pc.table, pc.constraint);
        if (n > 0) violations.push(`${pc.name}: ${n} row(s) would fail`);
      } catch (err) {
        violations.push(`${pc.name}: ${(err as Error).message}`);
      }
    }
  }
  return {
    name: "pending constraints would validate",
    ok: violations.length === 0,
    detail: violations.length ? violations.join("; ") : `${pending} constraint(s)`,
  };
}

async function invalidIndexCheck(pool: Pool, schema: string): Promise<VerifyCheck> {
  const invalid = await pool.query<{ name: string }>(
    `SELECT ic.relname AS name FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
       JOIN pg_namespace n ON n.oid = ic.relnamespace
      WHERE n.nspname = $1 AND NOT (i.indisvalid AND i.indisready)`,
    [schema],
  );
  return {
    name: "no invalid indexes",
    ok: invalid.rows.length === 0,
    detail: invalid.rows.length ? invalid.rows.map((r) => r.name).join(", ") : undefined,
  };
}
