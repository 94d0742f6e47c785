/** Status: what the database recorded about every migration, read without the command lock. */
import { canRollBack, nextStep } from "../next-step";
import * as state from "../state";
import { backfillProgress, type EngineContext } from "./context";
import { prepareRecorded } from "./prepare";

export interface StatusResult {
  active: MigrationSummary | null;
  migrations: MigrationSummary[];
  /** Version schemas that exist now, newest last. */
  versionSchemas: string[];
  aside: state.AsideRow[];
}

export interface MigrationSummary {
  name: string;
  /** The deployment that started this attempt, or null (the CLI). */
  owner: string | null;
  id: number;
  attempt: number;
  phase: state.Phase;
  versionSchema: string;
  previousVersionSchema: string | null;
  /**
   * The migrations started as one attempt with this one (a release's several, in order, this one
   * included): they share the attempt's phase, steps and version schema. Null when it ran alone.
   */
  together: string[] | null;
  operations: string[];
  stepsDone: number;
  backfill: Array<{ table: string; rowsDone: number; done: boolean }>;
  lastError: string | null;
  updatedAt: Date;
  /** Whether rollback can run now (false once complete has contracted, and for a final phase). */
  canRollBack: boolean;
  /** What happened and which command to run next; empty for a final phase. */
  next: string;
}

export async function migrationStatus(engine: EngineContext): Promise<StatusResult> {
  const { pool } = engine;
  if (!(await state.stateExists(pool)))
    return { active: null, migrations: [], versionSchemas: [], aside: [] };
  const rows = await state.listMigrations(pool, engine.scope);
  const steps = await pool.query<{ id: string; n: string }>(
    `SELECT migration_id AS id, count(*) AS n FROM ${state.STATE_SCHEMA}.steps WHERE migration_id = ANY($1::bigint[]) GROUP BY 1`,
    [rows.map((r) => r.id)],
  );
  const stepCount = new Map(steps.rows.map((r) => [Number(r.id), Number(r.n)]));
  const summaries: MigrationSummary[] = [];
  for (const row of rows) summaries.push(...(await summarize(engine, row, stepCount.get(row.id) ?? 0)));
  const schemas = await pool.query<{ nspname: string }>(
    `SELECT nspname FROM pg_namespace WHERE nspname = ANY($1::text[])`,
    [rows.map((r) => r.versionSchema)],
  );
  const existing = new Set(schemas.rows.map((r) => r.nspname));
  return {
    active: summaries.find((s) => !state.isFinal(s.phase)) ?? null,
    migrations: summaries,
    versionSchemas: [...new Set(rows.map((r) => r.versionSchema))].filter((s) => existing.has(s)),
    aside: await state.listAside(pool, engine.scope),
  };
}

/** One summary per migration of the attempt: itself, or each of the migrations it started together. */
async function summarize(
  engine: EngineContext,
  row: state.MigrationRow,
  stepsDone: number,
): Promise<MigrationSummary[]> {
  const rollbackPossible =
    !state.isFinal(row.phase) && canRollBack(row.phase, await state.doneSteps(engine.pool, row.id));
  const operations = prepareRecorded(row).ops.map((o) => o.describe());
  const backfill = (await backfillProgress(engine, row.id)).map((b) => ({
    table: b.table,
    rowsDone: b.rowsDone,
    done: b.done,
  }));
  const summary = (name: string, ops: string[], together: string[] | null): MigrationSummary => ({
    name,
    owner: row.owner,
    id: row.id,
    attempt: row.attempt,
    phase: row.phase,
    versionSchema: row.versionSchema,
    previousVersionSchema: row.previousVersionSchema,
    together,
    operations: ops,
    stepsDone,
    backfill,
    lastError: row.lastError,
    updatedAt: row.updatedAt,
    canRollBack: rollbackPossible,
    next: nextStep({ phase: row.phase, lastError: row.lastError, canRollBack: rollbackPossible }),
  });
  if (!row.parts) return [summary(row.name, operations, null)];
  const names = row.parts.map((p) => p.name);
  let at = 0;
  return row.parts.map((p) => {
    const ops = operations.slice(at, at + p.operations.length);
    at += p.operations.length;
    return summary(p.name, ops, names);
  });
}
