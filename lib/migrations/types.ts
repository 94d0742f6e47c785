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
import type { PoolClient, QueryResult, QueryResultRow } from "pg";
import { shadowColumn } from "./sql";

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

/**
 * The physical column that backs, in the new version, what is physical
 * column `column` of `table` at some point of the migration: itself, or its
 * shadow when a later operation shadows it; undefined when a later operation
 * drops it (or its table).
 */
export function finalPhysical(final: SchemaModel, table: string, column: string): string | undefined {
  const t = final.tables.find((x) => x.physical === table);
  if (!t) return undefined;
  if (t.columns.some((c) => c.physical === column)) return column;
  const shadow = shadowColumn(column);
  return t.columns.some((c) => c.physical === shadow) ? shadow : undefined;
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
  | "CONNECTION_LOST"
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
    this.retryable = code === "BUSY" || code === "LOCK_TIMEOUT" || code === "CONNECTION_LOST";
  }
}

/**
 * An expression of a migration file (`up`, `down`, a default) and the
 * logical columns it may name, each backed by a physical column. Triggers
 * and verify's probes compile it the same way (`operations/triggers.ts`).
 */
export interface ExprBinding {
  expression: string;
  columns: ColumnModel[];
}

/** A dual-write pair: what verify probes and what the benchmark measures. */
export interface DualWrite {
  /** `table.column` as the new version names it (the old name for a dropped column). */
  label: string;
  /** Physical table. */
  table: string;
  /** The column as the old version sees it, or null (added column). */
  old: ColumnModel | null;
  /** The column as the new version sees it, or null (dropped column). */
  new: ColumnModel | null;
  /** Computes `new.physical` from a row the old version wrote. */
  up?: ExprBinding;
  /** Computes `old.physical` from a row the new version wrote. */
  down?: ExprBinding;
  /** Declared `lossless: true`: verify then demands down(up(v)) = v and up(down(w)) = w. */
  lossless: boolean;
  /** NOT VALID check that makes the new column NOT NULL on complete, if any. */
  newNotNullCheck?: string;
}

/**
 * A NOT VALID constraint that complete will validate; verify counts the rows
 * that would fail it (from the catalog, so the count uses the expression as
 * PostgreSQL bound it).
 */
export interface PendingCheck {
  name: string;
  /** Physical table and constraint name; a constraint that does not exist has nothing pending. */
  table: string;
  constraint: string;
}

export interface BackfillSpec {
  /** Physical table. */
  table: string;
  /** Physical column set to itself to fire the dual-write trigger on each row. */
  touchColumn: string;
}

/** Anything that runs a query: a pool, or a client outside or inside a step. */
export interface Queryable {
  query<R extends QueryResultRow = QueryResultRow>(text: string, values?: unknown[]): Promise<QueryResult<R>>;
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
  /** Logical model of the new version (after the whole migration). */
  final: SchemaModel;
  /**
   * Runs `fn` on a connection inside a transaction that is rolled back: for
   * decisions taken outside a step (never for changes).
   */
  inspect<T>(fn: (c: PoolClient) => Promise<T>): Promise<T>;
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

/** What an operation may check before a new attempt records anything (see `Operation.preflight`). */
export interface PreflightContext {
  schema: string;
  /** Every physical column this migration shadows, and the operation that does (its description). */
  shadowed: ReadonlyArray<{ table: string; column: string; by: string }>;
}

type MaybePromise<T> = T | Promise<T>;

/** One operation kind = one module implementing this (see `operations/`). */
export interface Operation {
  readonly kind: string;
  describe(): string;
  /** New version's logical model from the previous one. Pure; throws VALIDATION on bad references. */
  applyToModel(model: SchemaModel): void;
  /**
   * Checks against the catalog that start cannot do safely (a name already
   * taken, a column that cannot be shadowed); throws VALIDATION. Runs once,
   * before a new attempt is recorded, so a refused migration leaves nothing.
   */
  preflight?(c: Queryable, p: PreflightContext): Promise<void>;
  start(ctx: OpContext): Promise<void>;
  /**
   * The part of complete that can still be undone (validating constraints,
   * making sure indexes are built). Runs while the migration is still
   * active, so a failure here leaves both complete and rollback open.
   */
  prepareComplete?(ctx: OpContext): Promise<void>;
  /** The contract: drops and renames that cannot be undone. */
  complete(ctx: OpContext): Promise<void>;
  rollback(ctx: OpContext): Promise<void>;
  /** Rows the engine must backfill after start (keyset batches through the trigger). */
  backfill?(ctx: OpContext): MaybePromise<BackfillSpec | undefined>;
  dualWrites?(ctx: OpContext): MaybePromise<DualWrite[]>;
  pendingChecks?(ctx: OpContext): MaybePromise<PendingCheck[]>;
  /** Physical columns (table -> columns) this operation writes while active; used to refuse conflicting ops. */
  touches?(model: SchemaModel): string[];
  /** The physical column this operation shadows (after applyToModel), and how to name the operation. */
  shadows?(): { table: string; column: string; by: string };
  /** Physical `table.column` keys of the new version this operation's start builds on (see start's order). */
  needs?(ctx: OpContext): string[];
  /** Complete after every other operation (renaming a table others refer to physically). */
  readonly completeLast?: boolean;
}
