/**
 * What every engine command shares, set up once per engine: the connection
 * pool, the DDL policy, the per-database command lock, and the result shape
 * a command returns.
 */
import { Client, Pool } from "pg";
import type { BackfillOptions, BackfillProgress } from "../backfill";
import { type DdlPolicy, DEFAULT_DDL_POLICY } from "../ddl";
import * as state from "../state";
import { MigrationError } from "../types";

export interface EngineHooks {
  /**
   * Called before a step not yet recorded runs (before its transaction
   * opens): with afterStep, it times each step — the benchmark bounds how
   * long a step can hold its locks that way.
   */
  beforeStep?(step: string): void | Promise<void>;
  /**
   * Called after each step is durably recorded, and for steps that cannot run
   * in a transaction also between their effect and the record (`<step>#effect`).
   * Tests throw or SIGKILL here to inject crashes.
   */
  afterStep?(step: string): void | Promise<void>;
}

export interface EngineOptions {
  connectionString: string;
  /**
   * The scope of this engine's migrations, and the prefix of its version
   * schema names (`<service>_<environment>_<migration>`, or
   * `<service>_<migration>` without an environment). Engines of other scopes
   * on the same database never see or touch these migrations.
   */
  service?: string;
  environment?: string;
  /** Schema holding the real tables. */
  schema?: string;
  log?: (message: string) => void;
  /** lock_timeout of every DDL statement and backfill batch. */
  lockTimeoutMs?: number;
  /** Retries (with exponential backoff and full jitter) after a lock timeout. */
  ddlRetries?: number;
  retryBaseDelayMs?: number;
  retryMaxDelayMs?: number;
  /** How long a command waits for another command on the same database before failing with BUSY. */
  commandLockWaitMs?: number;
  backfill?: Partial<BackfillOptions>;
  /** Roles granted USAGE and DML on each version schema. */
  grants?: string[];
  hooks?: EngineHooks;
}

export type CommandName = "start" | "complete" | "rollback";

export interface CommandResult {
  command: CommandName;
  migration: string;
  id: number;
  attempt: number;
  phase: state.Phase;
  versionSchema: string;
  previousVersionSchema: string | null;
  /** Nothing was left to do (a rerun of a finished command). */
  alreadyDone: boolean;
  /** Steps executed by this call, in order. */
  steps: string[];
  backfill: BackfillProgress[];
  durationMs: number;
}

/** The engine's options resolved to their defaults, plus the pool every command uses. */
export interface EngineContext {
  readonly options: EngineOptions;
  readonly service: string;
  /** (service, environment): the rows of the state this engine reads and writes. */
  readonly scope: state.Scope;
  /** Schema holding the real tables. */
  readonly schema: string;
  readonly log: (message: string) => void;
  readonly policy: DdlPolicy;
  readonly backfillOptions: BackfillOptions;
  readonly pool: Pool;
}

export function createEngineContext(options: EngineOptions): EngineContext {
  const log = options.log ?? (() => undefined);
  const policy: DdlPolicy = {
    ...DEFAULT_DDL_POLICY,
    lockTimeoutMs: options.lockTimeoutMs ?? DEFAULT_DDL_POLICY.lockTimeoutMs,
    retries: options.ddlRetries ?? DEFAULT_DDL_POLICY.retries,
    baseDelayMs: options.retryBaseDelayMs ?? DEFAULT_DDL_POLICY.baseDelayMs,
    maxDelayMs: options.retryMaxDelayMs ?? DEFAULT_DDL_POLICY.maxDelayMs,
    log,
  };
  const backfillOptions: BackfillOptions = {
    batchSize: options.backfill?.batchSize ?? 1000,
    delayMs: options.backfill?.delayMs ?? 0,
  };
  const pool = new Pool({
    connectionString: options.connectionString,
    max: 4,
    application_name: "shipshape-migrate",
  });
  // A client whose server goes away (stop, restart, kill) emits 'error', and an
  // 'error' nobody listens to crashes the process. The pool listens only while
  // a client is idle; a checked-out one (a step's transaction) must have its
  // own listener. Its query fails by itself (the command is retried), and the
  // pool drops the dead client and connects a new one on the next checkout.
  pool.on("connect", (client) => {
    client.on("error", (err) => log(`database connection lost: ${err.message}`));
  });
  pool.on("error", () => undefined); // the same error, already logged by the client's own listener
  const service = options.service ?? "app";
  const environment = options.environment ?? "";
  return {
    options,
    service,
    scope: { service, environment },
    schema: options.schema ?? "public",
    log,
    policy,
    backfillOptions,
    pool,
  };
}

/**
 * Runs `fn` holding the per-database command lock. The lock lives on its own
 * session outside the pool so that PostgreSQL frees it when this process
 * dies, and the state schema is created under it so two engines never race
 * to create it.
 */
export async function withCommandLock<T>(engine: EngineContext, fn: () => Promise<T>): Promise<T> {
  const lockSession = new Client({
    connectionString: engine.options.connectionString,
    application_name: "shipshape-migrate-lock",
  });
  lockSession.on("error", (err) => engine.log(`lock session error: ${err.message}`));
  await lockSession.connect();
  try {
    await state.acquireCommandLock(lockSession, engine.options.commandLockWaitMs ?? 30_000);
    await state.ensureStateSchema(engine.pool);
    return await fn();
  } finally {
    await lockSession.end().catch(() => undefined);
  }
}

/**
 * The skeleton of start, complete and rollback: under the command lock, run
 * `body`, then report the row it left and the steps it executed (none means
 * the command had already finished). `startedAt` defaults to now; start
 * passes the moment before it validated its input.
 */
export async function runCommand(
  engine: EngineContext,
  command: CommandName,
  body: () => Promise<{ row: state.MigrationRow; steps: string[] }>,
  startedAt: number = Date.now(),
): Promise<CommandResult> {
  return withCommandLock(engine, async () => {
    const { row, steps } = await body();
    return {
      command,
      migration: row.name,
      id: row.id,
      attempt: row.attempt,
      phase: row.phase,
      versionSchema: row.versionSchema,
      previousVersionSchema: row.previousVersionSchema,
      alreadyDone: steps.length === 0,
      steps,
      backfill: await backfillProgress(engine, row.id),
      durationMs: Date.now() - startedAt,
    };
  });
}

export async function backfillProgress(engine: EngineContext, id: number): Promise<BackfillProgress[]> {
  const r = await engine.pool.query(
    `SELECT table_name, rows_done, batches, done FROM ${state.STATE_SCHEMA}.backfills WHERE migration_id = $1 ORDER BY op_index`,
    [id],
  );
  return r.rows.map((x) => ({
    table: x.table_name,
    rowsDone: Number(x.rows_done),
    batches: Number(x.batches),
    done: x.done,
  }));
}

/** The latest attempt of `name` in the engine's scope; NOT_FOUND when it never started there. */
export async function findStartedMigration(engine: EngineContext, name: string): Promise<state.MigrationRow> {
  const row = (await state.stateExists(engine.pool))
    ? await state.findMigration(engine.pool, engine.scope, name)
    : undefined;
  if (!row)
    throw new MigrationError("NOT_FOUND", `migration '${name}' was never started ${scopeText(engine)}`);
  return row;
}

/** "for shop/production on this database", for messages. */
export function scopeText(engine: EngineContext): string {
  const { service, environment } = engine.scope;
  return `for ${service}${environment ? `/${environment}` : ""} on this database`;
}
