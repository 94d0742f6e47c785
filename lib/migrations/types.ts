/**
 * Shared types of the parallel-schema migration engine.
 *
 * Two views of the database matter:
 *  - the *physical* schema (default `public`): real tables, plus shadow and
 *    put-aside columns whose names start with `_ss_`;
 *  - a *logical model* per version: which tables and columns a version sees,
 *    under which names, and which physical column backs each one. The engine
 *    turns a logical model into a schema of views (`versioned-schema.ts`).
 */
import type { PoolClient } from "pg";

export interface ColumnModel {
  /** Name the version sees. */
  name: string;
  /** Physical column behind it. */
  physical: string;
}

export interface TableModel {
  name: string;
  physical: string;
  columns: ColumnModel[];
  /** View-level defaults (logical column -> SQL expression) for inserts through this version only. */
  defaults?: Record<string, string>;
}

export interface SchemaModel {
  tables: TableModel[];
}

export function cloneModel(model: SchemaModel): SchemaModel {
  return JSON.parse(JSON.stringify(model)) as SchemaModel;
}

export function findTable(model: SchemaModel, name: string, op: string): TableModel {
  const t = model.tables.find((x) => x.name === name);
  if (!t) throw new MigrationError("VALIDATION", `${op}: table '${name}' does not exist`);
  return t;
}

export function findColumn(table: TableModel, name: string, op: string): ColumnModel {
  const c = table.columns.find((x) => x.name === name);
  if (!c) throw new MigrationError("VALIDATION", `${op}: column '${table.name}.${name}' does not exist`);
  return c;
}

export type ErrorCode =
  | "VALIDATION"
  | "ANOTHER_ACTIVE"
  | "BUSY"
  | "INVALID_PHASE"
  | "NOT_FOUND"
  | "DEFINITION_CHANGED"
  | "LOCK_TIMEOUT"
  | "NOT_OWNER"
  | "FAILED";

/**
 * Every error the engine raises on purpose. `retryable` tells an orchestrator
 * (Temporal activity) whether retrying the same command can help.
 */
export class MigrationError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "MigrationError";
    this.code = code;
    this.retryable = code === "BUSY" || code === "LOCK_TIMEOUT";
  }
}

/** A dual-write pair: what verify probes and what the benchmark measures. */
export interface DualWrite {
  /** Logical table name in the new version. */
  table: string;
  /** Logical table name in the old version. */
  oldTable: string;
  /** Old version's column (logical), or null if the old version has none (added column). */
  oldColumn: string | null;
  /** New version's column (logical), or null if the new version has none (dropped column). */
  newColumn: string | null;
  /** Expression over the old version's columns giving the new value. */
  up?: string;
  /** Expression over the new version's columns giving the old value. */
  down?: string;
}

/** A constraint that complete will validate; verify counts the rows that would fail. */
export interface PendingCheck {
  name: string;
  /** SELECT returning one row with a bigint column `violations`. */
  sql: string;
}

export interface BackfillSpec {
  /** Physical table. */
  table: string;
  /** Physical column set to itself to fire the dual-write trigger on each row. */
  touchColumn: string;
}

/** Everything an operation step may use. */
export interface OpContext {
  /** Physical schema holding the application tables. */
  schema: string;
  migrationId: number;
  migrationName: string;
  /** Position of this operation in the migration. */
  index: number;
  /** Logical model before this operation (old version + earlier operations). */
  before: SchemaModel;
  /** Logical model after this operation. */
  after: SchemaModel;
  /** Logical model of the old version (before the whole migration). */
  base: SchemaModel;
  /**
   * Runs `fn` once per migration: inside one transaction with lock_timeout
   * and retries, recording `name` as done in the same transaction. A rerun
   * after a crash skips steps already recorded.
   */
  step(name: string, fn: (c: PoolClient) => Promise<void>): Promise<void>;
  /**
   * Same, for statements that cannot run in a transaction block (CREATE/DROP
   * INDEX CONCURRENTLY). `fn` must be idempotent: a crash can land between its
   * effect and the record.
   */
  stepOutsideTransaction(name: string, fn: (c: PoolClient) => Promise<void>): Promise<void>;
  /** Whether a step of this migration is recorded as done (e.g. did start run this raw SQL?). */
  isDone(name: string): boolean;
  /** Records a table or column put aside by rollback (inside a step's transaction). */
  recordAside(
    c: PoolClient,
    entry: { kind: "table" | "column"; table: string; column?: string; originalName: string },
  ): Promise<void>;
}

/** One operation kind = one module implementing this (see `operations/`). */
export interface Operation {
  readonly kind: string;
  describe(): string;
  /** New version's logical model from the previous one. Pure; throws VALIDATION on bad references. */
  applyToModel(model: SchemaModel): void;
  start(ctx: OpContext): Promise<void>;
  complete(ctx: OpContext): Promise<void>;
  rollback(ctx: OpContext): Promise<void>;
  /** Rows the engine must backfill after start (keyset batches through the trigger). */
  backfill?(ctx: OpContext): BackfillSpec | undefined;
  dualWrites?(ctx: OpContext): DualWrite[];
  pendingChecks?(ctx: OpContext): PendingCheck[];
  /** Physical columns (table -> columns) this operation writes while active; used to refuse conflicting ops. */
  touches?(model: SchemaModel): string[];
  /** Complete after every other operation (renaming a table others refer to physically). */
  readonly completeLast?: boolean;
}
