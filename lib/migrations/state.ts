/**
 * Durable state of migrations, kept in the migrated database itself (schema
 * `shipshape_migrations`) so it commits atomically with the DDL it describes.
 *
 * - `migrations`: one row per attempt, in the scope of the engine that
 *   started it — (service, environment): several services, or staging and
 *   production of one service, can share a database and each migrate on its
 *   own. A partial unique index allows at most ONE row per scope whose phase
 *   is not final, so a second migration of a scope is refused by the database
 *   even if two engines race; a name is used once per scope (two services may
 *   both have a `0001_initial`). `owner` is who started the attempt (the
 *   deployment ID): a compensation only undoes attempts it owns. An attempt
 *   that starts several migrations together (a release's) is one row named
 *   after the last of them; `parts` keeps each migration's name and
 *   operations, and every lookup by name finds the row by any of them.
 * - `steps`: every finished step of start / complete / rollback, written in
 *   the same transaction as the step's DDL. Rerunning a command skips them.
 * - `backfills`: keyset cursor per backfilled operation (resume, not restart).
 * - `aside`: tables and columns a rollback renamed aside instead of dropping.
 *
 * Phase machine:
 *   starting ──► active ──► completing ──► completed
 *      │            │            ┆
 *      └────────────┴────────────┴──► rolling_back ──► rolled_back
 * `completing` goes back only until complete's first contract step commits
 * (next-step.ts); after it, only forward. `rolling_back` only to `rolled_back`.
 */
import type { Client, Pool, PoolClient } from "pg";
import type { SchemaModel } from "./types";
import { MigrationError } from "./types";

export const STATE_SCHEMA = "shipshape_migrations";

export const PHASES = [
  "starting",
  "active",
  "completing",
  "completed",
  "rolling_back",
  "rolled_back",
] as const;
export type Phase = (typeof PHASES)[number];

export const TRANSITIONS: Record<Phase, readonly Phase[]> = {
  starting: ["active", "rolling_back"],
  active: ["completing", "rolling_back"],
  // Back to rolling_back only before complete's first contract step (commands/rollback.ts checks).
  completing: ["completed", "rolling_back"],
  completed: [],
  rolling_back: ["rolled_back"],
  rolled_back: [],
};

export function isFinal(phase: Phase): boolean {
  return phase === "completed" || phase === "rolled_back";
}

/** Whose migrations these are: one service in one environment (empty strings: unscoped, the CLI's default). */
export interface Scope {
  service: string;
  environment: string;
}

export interface MigrationRow {
  id: number;
  service: string;
  environment: string;
  name: string;
  /** Who started this attempt (a deployment ID), or null (the CLI). */
  owner: string | null;
  attempt: number;
  baseSchema: string;
  versionSchema: string;
  previousVersionSchema: string | null;
  definition: unknown;
  /** The migrations started together as this one attempt, in order; null when it is one migration. */
  parts: MigrationPart[] | null;
  baseModel: SchemaModel;
  phase: Phase;
  createdAt: Date;
  updatedAt: Date;
  lastError: string | null;
}

/** One migration of an attempt that started several together: its name and its own operations. */
export interface MigrationPart {
  name: string;
  operations: Array<Record<string, unknown>>;
}

const S = STATE_SCHEMA;

/** Idempotent; always called under the command's advisory lock, so concurrent creation cannot race. */
export async function ensureStateSchema(c: Pool | PoolClient | Client): Promise<void> {
  await c.query(`
    CREATE SCHEMA IF NOT EXISTS ${S};
    CREATE TABLE IF NOT EXISTS ${S}.migrations (
      id bigserial PRIMARY KEY,
      service text NOT NULL DEFAULT '',
      environment text NOT NULL DEFAULT '',
      name text NOT NULL,
      owner text,
      attempt int NOT NULL,
      base_schema text NOT NULL,
      version_schema text NOT NULL,
      previous_version_schema text,
      definition jsonb NOT NULL,
      base_model jsonb NOT NULL,
      phase text NOT NULL CHECK (phase IN (${PHASES.map((p) => `'${p}'`).join(",")})),
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      last_error text
    );
    -- State from before scopes (one active migration and each name once per database)
    -- gets the scope columns once; its rows belong to the unscoped ('', '') scope.
    DO $scopes$ BEGIN
      IF NOT EXISTS (SELECT 1 FROM information_schema.columns
                      WHERE table_schema = '${S}' AND table_name = 'migrations' AND column_name = 'owner') THEN
        ALTER TABLE ${S}.migrations
          ADD COLUMN service text NOT NULL DEFAULT '',
          ADD COLUMN environment text NOT NULL DEFAULT '',
          ADD COLUMN owner text;
        DROP INDEX IF EXISTS ${S}.migrations_one_active;
        DROP INDEX IF EXISTS ${S}.migrations_name_once;
      END IF;
    END $scopes$;
    -- Attempts that start several migrations together (one release's) list them in parts;
    -- checked first so that a command does not take the table's ACCESS EXCLUSIVE lock every time.
    DO $parts$ BEGIN
      IF NOT EXISTS (SELECT 1 FROM information_schema.columns
                      WHERE table_schema = '${S}' AND table_name = 'migrations' AND column_name = 'parts') THEN
        ALTER TABLE ${S}.migrations ADD COLUMN parts jsonb;
      END IF;
    END $parts$;
    CREATE UNIQUE INDEX IF NOT EXISTS migrations_one_active_per_scope ON ${S}.migrations (service, environment)
      WHERE phase NOT IN ('completed', 'rolled_back');
    CREATE UNIQUE INDEX IF NOT EXISTS migrations_name_once_per_scope ON ${S}.migrations (service, environment, name)
      WHERE phase <> 'rolled_back';
    CREATE TABLE IF NOT EXISTS ${S}.steps (
      migration_id bigint NOT NULL REFERENCES ${S}.migrations(id),
      step text NOT NULL,
      done_at timestamptz NOT NULL DEFAULT clock_timestamp(),
      PRIMARY KEY (migration_id, step)
    );
    CREATE TABLE IF NOT EXISTS ${S}.backfills (
      migration_id bigint NOT NULL REFERENCES ${S}.migrations(id),
      op_index int NOT NULL,
      table_name text NOT NULL,
      upper_bound jsonb,
      cursor jsonb,
      rows_done bigint NOT NULL DEFAULT 0,
      batches bigint NOT NULL DEFAULT 0,
      done boolean NOT NULL DEFAULT false,
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (migration_id, op_index)
    );
    CREATE TABLE IF NOT EXISTS ${S}.aside (
      id bigserial PRIMARY KEY,
      migration_id bigint NOT NULL REFERENCES ${S}.migrations(id),
      kind text NOT NULL CHECK (kind IN ('table', 'column')),
      schema_name text NOT NULL,
      table_name text NOT NULL,
      column_name text,
      original_name text NOT NULL,
      renamed_at timestamptz NOT NULL DEFAULT now(),
      purged_at timestamptz,
      UNIQUE (schema_name, table_name, column_name)
    );
  `);
}

/**
 * One fixed key: commands on the same database serialize; other databases are
 * unaffected (advisory locks are per database). Exported so a test can hold a
 * command in flight (it waits for this lock) while it crashes the worker.
 */
export const COMMAND_LOCK_KEY = "7320563719841770337"; // arbitrary constant, "shipshape" in spirit

/**
 * Takes the per-database command lock on a dedicated session. If the process
 * dies, PostgreSQL ends the session and frees the lock, so a crash never
 * leaves the database locked.
 */
export async function acquireCommandLock(c: Client, waitMs: number): Promise<void> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const r = await c.query<{ ok: boolean }>("SELECT pg_try_advisory_lock($1::bigint) AS ok", [
      COMMAND_LOCK_KEY,
    ]);
    if (r.rows[0]?.ok) return;
    if (Date.now() >= deadline) {
      const holder = await c.query<{ pid: number; app: string }>(
        `SELECT pid, application_name AS app FROM pg_locks l JOIN pg_stat_activity a USING (pid)
          WHERE l.locktype = 'advisory' AND l.objid = ($1::bigint & 4294967295)::oid AND l.granted LIMIT 1`,
        [COMMAND_LOCK_KEY],
      );
      const h = holder.rows[0];
      throw new MigrationError(
        "BUSY",
        `another migration command is running on this database${h ? ` (backend pid ${h.pid}${h.app ? `, ${h.app}` : ""})` : ""}; retry when it finishes`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function releaseCommandLock(c: Client): Promise<void> {
  await c.query("SELECT pg_advisory_unlock($1::bigint)", [COMMAND_LOCK_KEY]);
}

function toRow(r: Record<string, unknown>): MigrationRow {
  return {
    id: Number(r.id),
    service: (r.service as string | undefined) ?? "",
    environment: (r.environment as string | undefined) ?? "",
    name: r.name as string,
    owner: (r.owner as string | null | undefined) ?? null,
    attempt: r.attempt as number,
    baseSchema: r.base_schema as string,
    versionSchema: r.version_schema as string,
    previousVersionSchema: (r.previous_version_schema as string | null) ?? null,
    definition: r.definition,
    parts: (r.parts as MigrationPart[] | null | undefined) ?? null,
    baseModel: r.base_model as SchemaModel,
    phase: r.phase as Phase,
    createdAt: r.created_at as Date,
    updatedAt: r.updated_at as Date,
    lastError: (r.last_error as string | null) ?? null,
  };
}

type Q = Pool | PoolClient | Client;

export async function stateExists(c: Q): Promise<boolean> {
  const r = await c.query("SELECT to_regclass($1) IS NOT NULL AS ok", [`${S}.migrations`]);
  return Boolean(r.rows[0]?.ok);
}

/** Latest attempt of `name` in the scope (alone, or as a part of an attempt that started several), or undefined. */
export async function findMigration(c: Q, scope: Scope, name: string): Promise<MigrationRow | undefined> {
  const r = await c.query(
    `SELECT * FROM ${S}.migrations WHERE service = $1 AND environment = $2
       AND (name = $3 OR parts @> jsonb_build_array(jsonb_build_object('name', $3::text)))
     ORDER BY id DESC LIMIT 1`,
    [scope.service, scope.environment, name],
  );
  return r.rows[0] ? toRow(r.rows[0]) : undefined;
}

export async function findActive(c: Q, scope: Scope): Promise<MigrationRow | undefined> {
  const r = await c.query(
    `SELECT * FROM ${S}.migrations WHERE service = $1 AND environment = $2
       AND phase NOT IN ('completed', 'rolled_back') ORDER BY id DESC LIMIT 1`,
    [scope.service, scope.environment],
  );
  return r.rows[0] ? toRow(r.rows[0]) : undefined;
}

export async function lastCompleted(c: Q, scope: Scope): Promise<MigrationRow | undefined> {
  const r = await c.query(
    `SELECT * FROM ${S}.migrations WHERE service = $1 AND environment = $2 AND phase = 'completed'
      ORDER BY id DESC LIMIT 1`,
    [scope.service, scope.environment],
  );
  return r.rows[0] ? toRow(r.rows[0]) : undefined;
}

/** Every attempt of the scope, oldest first. */
export async function listMigrations(c: Q, scope: Scope): Promise<MigrationRow[]> {
  const r = await c.query(
    `SELECT * FROM ${S}.migrations WHERE service = $1 AND environment = $2 ORDER BY id`,
    [scope.service, scope.environment],
  );
  return r.rows.map(toRow);
}

export async function insertMigration(
  c: Q,
  m: Omit<MigrationRow, "id" | "phase" | "createdAt" | "updatedAt" | "lastError">,
): Promise<MigrationRow> {
  try {
    const r = await c.query(
      `INSERT INTO ${S}.migrations
         (service, environment, name, owner, attempt, base_schema, version_schema, previous_version_schema,
          definition, base_model, parts, phase)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'starting') RETURNING *`,
      [
        m.service,
        m.environment,
        m.name,
        m.owner,
        m.attempt,
        m.baseSchema,
        m.versionSchema,
        m.previousVersionSchema,
        JSON.stringify(m.definition),
        JSON.stringify(m.baseModel),
        m.parts ? JSON.stringify(m.parts) : null,
      ],
    );
    return toRow(r.rows[0]);
  } catch (err) {
    if ((err as { code?: string }).code === "23505") {
      const active = await findActive(c, m);
      throw new MigrationError(
        "ANOTHER_ACTIVE",
        active
          ? `cannot start '${m.name}': migration '${active.name}' is ${active.phase}; complete or roll it back first`
          : `cannot start '${m.name}': it was started concurrently by another engine`,
        { cause: err },
      );
    }
    throw err;
  }
}

/** Moves to `to` if the current phase allows it; returns the (possibly unchanged) row. */
export async function transition(c: Q, row: MigrationRow, to: Phase): Promise<MigrationRow> {
  if (row.phase === to) return row;
  if (!TRANSITIONS[row.phase].includes(to)) {
    throw new MigrationError(
      "INVALID_PHASE",
      `migration '${row.name}' is ${row.phase}; it cannot move to ${to}` +
        (row.phase === "completing" ? " (once contracting it can only finish completing)" : "") +
        (row.phase === "rolling_back" ? " (once rolling back it can only finish rolling back)" : ""),
    );
  }
  const r = await c.query(
    `UPDATE ${S}.migrations SET phase = $2, updated_at = now() WHERE id = $1 AND phase = $3 RETURNING *`,
    [row.id, to, row.phase],
  );
  if (!r.rows[0])
    throw new MigrationError("INVALID_PHASE", `migration '${row.name}' changed phase concurrently`);
  return toRow(r.rows[0]);
}

export async function recordError(c: Q, id: number, message: string | null): Promise<void> {
  await c.query(`UPDATE ${S}.migrations SET last_error = $2, updated_at = now() WHERE id = $1`, [
    id,
    message,
  ]);
}

export async function doneSteps(c: Q, id: number): Promise<Set<string>> {
  const r = await c.query<{ step: string }>(`SELECT step FROM ${S}.steps WHERE migration_id = $1`, [id]);
  return new Set(r.rows.map((x) => x.step));
}

export async function recordStep(c: Q, id: number, step: string): Promise<void> {
  await c.query(`INSERT INTO ${S}.steps (migration_id, step) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [
    id,
    step,
  ]);
}

export async function recordAside(
  c: Q,
  migrationId: number,
  schema: string,
  e: { kind: "table" | "column"; table: string; column?: string; originalName: string },
): Promise<void> {
  await c.query(
    `INSERT INTO ${S}.aside (migration_id, kind, schema_name, table_name, column_name, original_name)
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
    [migrationId, e.kind, schema, e.table, e.column ?? null, e.originalName],
  );
}

export interface AsideRow {
  id: number;
  migrationId: number;
  kind: "table" | "column";
  schema: string;
  table: string;
  column: string | null;
  originalName: string;
  renamedAt: Date;
  purgedAt: Date | null;
}

/** What rollbacks of the scope's migrations put aside. */
export async function listAside(c: Q, scope: Scope): Promise<AsideRow[]> {
  const r = await c.query(
    `SELECT a.* FROM ${S}.aside a JOIN ${S}.migrations m ON m.id = a.migration_id
      WHERE m.service = $1 AND m.environment = $2 ORDER BY a.id`,
    [scope.service, scope.environment],
  );
  return r.rows.map((x) => ({
    id: Number(x.id),
    migrationId: Number(x.migration_id),
    kind: x.kind,
    schema: x.schema_name,
    table: x.table_name,
    column: x.column_name,
    originalName: x.original_name,
    renamedAt: x.renamed_at,
    purgedAt: x.purged_at,
  }));
}
