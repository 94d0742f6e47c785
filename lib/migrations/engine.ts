/**
 * Parallel-schema migration engine: the public API the CLI and the deployment
 * workflow's activities use.
 *
 *   const engine = createMigrationEngine({ connectionString, service: "shop" });
 *   await engine.start(migration);    // expand: before green gets traffic
 *   await engine.verify();            // gate before traffic shifts
 *   await engine.complete(name);      // contract: after promotion + watch + keep window
 *   await engine.rollback(name);      // saga compensation
 *
 * Every command takes a per-database advisory lock, records each finished
 * step, and is idempotent: rerunning it after a crash (or as a Temporal
 * activity retry) resumes where it stopped and returns the same result shape
 * with `alreadyDone: true` when there was nothing left to do.
 */
import { Client, Pool, type PoolClient } from "pg";
import { type BackfillOptions, type BackfillProgress, runBackfill } from "./backfill";
import { canonicalJson } from "./canonical";
import { readModel, schemaExists } from "./catalog";
import { type DdlPolicy, DEFAULT_DDL_POLICY, inTransaction, outsideTransaction } from "./ddl";
import { type MigrationDefinition, validateMigrationObject } from "./file-format";
import { createOperation } from "./operations";
import { ident, qualified } from "./sql";
import * as state from "./state";
import { cloneModel, MigrationError, type OpContext, type Operation, type SchemaModel } from "./types";
import { type VerifyResult, verifyMigration } from "./verify";
import {
  connectionSettings,
  createVersionSchema,
  dropVersionSchema,
  versionSchemaName,
} from "./versioned-schema";

export type { MigrationDefinition } from "./file-format";
export { MigrationError } from "./types";
export type { VerifyResult } from "./verify";

export interface EngineHooks {
  /**
   * Called after each step is durably recorded, and for steps that cannot run
   * in a transaction also between their effect and the record (`<step>#effect`).
   * Tests throw or SIGKILL here to inject crashes.
   */
  afterStep?(step: string): void | Promise<void>;
}

export interface EngineOptions {
  connectionString: string;
  /** Prefix of version schema names (`<service>_<migration>`). */
  service?: string;
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

export interface CommandResult {
  command: "start" | "complete" | "rollback";
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

export interface StatusResult {
  active: MigrationSummary | null;
  migrations: MigrationSummary[];
  /** Version schemas that exist now, newest last. */
  versionSchemas: string[];
  aside: state.AsideRow[];
}

export interface MigrationSummary {
  name: string;
  id: number;
  attempt: number;
  phase: state.Phase;
  versionSchema: string;
  previousVersionSchema: string | null;
  operations: string[];
  stepsDone: number;
  backfill: Array<{ table: string; rowsDone: number; done: boolean }>;
  lastError: string | null;
  updatedAt: Date;
}

export interface MigrationEngine {
  status(): Promise<StatusResult>;
  start(migration: MigrationDefinition | unknown): Promise<CommandResult>;
  verify(name?: string): Promise<VerifyResult>;
  complete(name: string): Promise<CommandResult>;
  rollback(name: string): Promise<CommandResult>;
  purgeRolledBack(opts: { olderThanMs: number }): Promise<{ purged: state.AsideRow[] }>;
  /** Pins a role to a version (`ALTER ROLE … IN DATABASE … SET search_path`): survives PgBouncer transaction pooling. */
  bindRole(role: string, migrationName: string): Promise<{ role: string; searchPath: string }>;
  /** Version schema of a migration and what a client puts on its connection to use it. */
  versionSchema(migrationName: string): { schema: string; searchPath: string; pgOptions: string };
  close(): Promise<void>;
}

interface Prepared {
  ops: Operation[];
  /** models[i] = logical model before operation i; models[ops.length] = new version. */
  models: SchemaModel[];
}

/** Validates operations against the old version's model and computes every intermediate model. */
export function prepare(definition: MigrationDefinition, base: SchemaModel): Prepared {
  const ops = definition.operations.map(createOperation);
  const models: SchemaModel[] = [cloneModel(base)];
  let model = cloneModel(base);
  const touched = new Map<string, number>();
  ops.forEach((op, i) => {
    for (const key of op.touches?.(model) ?? []) {
      const prev = touched.get(key);
      if (prev !== undefined) {
        throw new MigrationError(
          "VALIDATION",
          `operation ${i + 1} (${op.describe()}) changes '${key}', which operation ${prev + 1} already changes; ` +
            "one change per column per migration (change_type has 'name' to rename at the same time)",
        );
      }
      touched.set(key, i);
    }
    op.applyToModel(model);
    model = cloneModel(model);
    models.push(cloneModel(model));
  });
  return { ops, models };
}

/**
 * Adds what raw SQL created at start (tables and columns that are neither in
 * the old version nor produced by an operation) to the new version's model.
 */
export function reconcileWithCatalog(
  next: SchemaModel,
  base: SchemaModel,
  catalog: SchemaModel,
): SchemaModel {
  const out = cloneModel(next);
  const basePhysical = new Set(base.tables.map((t) => t.physical));
  const nextPhysical = new Set(out.tables.map((t) => t.physical));
  for (const t of catalog.tables) {
    if (!basePhysical.has(t.physical) && !nextPhysical.has(t.physical))
      out.tables.push(cloneModel({ tables: [t] }).tables[0]!);
  }
  for (const t of out.tables) {
    const cat = catalog.tables.find((x) => x.physical === t.physical);
    if (!cat) continue;
    const used = new Set(t.columns.map((c) => c.physical));
    const baseCols = new Set(
      base.tables.find((x) => x.physical === t.physical)?.columns.map((c) => c.physical) ?? [],
    );
    for (const c of cat.columns) {
      if (!used.has(c.physical) && !baseCols.has(c.physical) && !t.columns.some((x) => x.name === c.name)) {
        t.columns.push({ ...c });
      }
    }
  }
  return out;
}

export function createMigrationEngine(options: EngineOptions): MigrationEngine {
  const service = options.service ?? "app";
  const schema = options.schema ?? "public";
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
  // An idle client dropped by the server (restart, kill) must not crash the process.
  pool.on("error", (err) => log(`pool client error: ${err.message}`));

  async function withCommandLock<T>(fn: () => Promise<T>): Promise<T> {
    const c = new Client({
      connectionString: options.connectionString,
      application_name: "shipshape-migrate-lock",
    });
    c.on("error", (err) => log(`lock session error: ${err.message}`));
    await c.connect();
    try {
      await state.acquireCommandLock(c, options.commandLockWaitMs ?? 30_000);
      await state.ensureStateSchema(pool);
      return await fn();
    } finally {
      await c.end().catch(() => undefined);
    }
  }

  function definitionOf(row: state.MigrationRow): MigrationDefinition {
    return row.definition as MigrationDefinition;
  }

  function normalize(migration: unknown): MigrationDefinition {
    const r = validateMigrationObject(migration);
    if (!r.ok) {
      throw new MigrationError(
        "VALIDATION",
        `invalid migration: ${r.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ")}`,
      );
    }
    return r.definition;
  }

  /** Runs a command's steps with a context per operation; records the error on the row if it fails. */
  async function runSteps(
    row: state.MigrationRow,
    body: (h: {
      prepared: Prepared;
      ctx: (i: number) => OpContext;
      step: OpContext["step"];
      stepOutside: OpContext["stepOutsideTransaction"];
      executed: string[];
    }) => Promise<void>,
  ): Promise<string[]> {
    const prepared = prepare(definitionOf(row), row.baseModel);
    const done = await state.doneSteps(pool, row.id);
    const executed: string[] = [];
    const after = async (name: string) => {
      await options.hooks?.afterStep?.(name);
    };
    const step: OpContext["step"] = async (name, fn) => {
      if (done.has(name)) return;
      await inTransaction(pool, policy, name, async (c) => {
        await fn(c);
        await state.recordStep(c, row.id, name);
      });
      done.add(name);
      executed.push(name);
      log(`${row.name}: ${name}`);
      await after(name);
    };
    const stepOutside: OpContext["stepOutsideTransaction"] = async (name, fn) => {
      if (done.has(name)) return;
      await outsideTransaction(pool, policy, name, fn);
      await after(`${name}#effect`);
      await state.recordStep(pool, row.id, name);
      done.add(name);
      executed.push(name);
      log(`${row.name}: ${name}`);
      await after(name);
    };
    const ctx = (i: number): OpContext => ({
      schema: row.baseSchema,
      migrationId: row.id,
      migrationName: row.name,
      index: i,
      before: prepared.models[i]!,
      after: prepared.models[i + 1]!,
      base: prepared.models[0]!,
      step,
      stepOutsideTransaction: stepOutside,
      isDone: (name: string) => done.has(name),
      recordAside: (c: PoolClient, e) => state.recordAside(c, row.id, row.baseSchema, e),
    });
    try {
      await body({ prepared, ctx, step, stepOutside, executed });
      await state.recordError(pool, row.id, null);
    } catch (err) {
      const message = (err as Error).message;
      await state.recordError(pool, row.id, message).catch(() => undefined);
      if (err instanceof MigrationError) throw err;
      throw new MigrationError("FAILED", `${row.name}: ${message}`, { cause: err });
    }
    return executed;
  }

  async function backfillProgress(id: number): Promise<BackfillProgress[]> {
    const r = await pool.query(
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

  function result(
    command: CommandResult["command"],
    row: state.MigrationRow,
    steps: string[],
    t0: number,
    backfill: BackfillProgress[],
  ): CommandResult {
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
      backfill,
      durationMs: Date.now() - t0,
    };
  }

  async function mustFind(name: string): Promise<state.MigrationRow> {
    const row = (await state.stateExists(pool)) ? await state.findMigration(pool, name) : undefined;
    if (!row) throw new MigrationError("NOT_FOUND", `migration '${name}' was never started on this database`);
    return row;
  }

  const engine: MigrationEngine = {
    async start(migration) {
      const t0 = Date.now();
      const definition = normalize(migration);
      return withCommandLock(async () => {
        let row = await state.findMigration(pool, definition.name);
        if (row && (row.phase === "completing" || row.phase === "rolling_back")) {
          throw new MigrationError(
            "INVALID_PHASE",
            `migration '${row.name}' is ${row.phase}; run ${row.phase === "completing" ? "complete" : "rollback"} to finish it`,
          );
        }
        if (row && (row.phase === "starting" || row.phase === "active" || row.phase === "completed")) {
          if (canonicalJson(row.definition) !== canonicalJson(definition)) {
            throw new MigrationError(
              "DEFINITION_CHANGED",
              `migration '${row.name}' was ${row.phase === "starting" ? "started" : row.phase} with a different definition; ` +
                "roll it back before changing its file, or give the change a new migration",
            );
          }
        }
        if (row && (row.phase === "active" || row.phase === "completed")) {
          return result("start", row, [], t0, await backfillProgress(row.id));
        }
        if (!row || row.phase === "rolled_back") {
          const active = await state.findActive(pool);
          if (active) {
            throw new MigrationError(
              "ANOTHER_ACTIVE",
              `cannot start '${definition.name}': migration '${active.name}' is ${active.phase} on this database; ` +
                `complete or roll it back first (one migration at a time)`,
            );
          }
          const base = await readModel(pool, schema);
          prepare(definition, base); // validation errors before anything is written
          const previous = await state.lastCompleted(pool);
          const previousSchema =
            previous && (await schemaExists(pool, previous.versionSchema)) ? previous.versionSchema : null;
          row = await state.insertMigration(pool, {
            name: definition.name,
            attempt: (row?.attempt ?? 0) + 1,
            baseSchema: schema,
            versionSchema: versionSchemaName(service, definition.name),
            previousVersionSchema: previousSchema,
            definition,
            baseModel: base,
          });
          log(`${row.name}: starting (attempt ${row.attempt}) → ${row.versionSchema}`);
        }
        const current = row;
        const steps = await runSteps(current, async ({ prepared, ctx, step }) => {
          for (let i = 0; i < prepared.ops.length; i++) await prepared.ops[i]!.start(ctx(i));
          await step("start:views", async (c) => {
            const catalog = await readModel(c, current.baseSchema);
            const next = prepared.models[prepared.ops.length]!;
            const model = reconcileWithCatalog(next, prepared.models[0]!, catalog);
            await createVersionSchema(c, current.versionSchema, current.baseSchema, model, options.grants);
          });
          for (let i = 0; i < prepared.ops.length; i++) {
            const c = ctx(i);
            const spec = prepared.ops[i]!.backfill?.(c);
            if (!spec) continue;
            const name = `start:${i}:backfill`;
            const done = await state.doneSteps(pool, current.id);
            if (done.has(name)) continue;
            await runBackfill({
              pool,
              policy,
              schema: current.baseSchema,
              table: spec.table,
              touchColumn: spec.touchColumn,
              migrationId: current.id,
              opIndex: i,
              options: backfillOptions,
              onBatch: async (p) => {
                if (p.batches === 1) await options.hooks?.afterStep?.(`${name}#batch`);
              },
            });
            await step(name, async () => undefined);
          }
        });
        row = await state.transition(pool, current, "active");
        return result("start", row, steps, t0, await backfillProgress(row.id));
      });
    },

    async complete(name) {
      const t0 = Date.now();
      return withCommandLock(async () => {
        let row = await mustFind(name);
        if (row.phase === "completed") return result("complete", row, [], t0, await backfillProgress(row.id));
        if (row.phase === "starting") {
          throw new MigrationError(
            "INVALID_PHASE",
            `migration '${name}' has not finished starting; rerun start first`,
          );
        }
        row = await state.transition(pool, row, "completing");
        const current = row;
        const steps = await runSteps(current, async ({ prepared, ctx, step }) => {
          await step("complete:drop-old-schemas", async (c) => {
            // Blue is gone once we contract: drop its views (they depend on columns we drop next).
            const all = await state.listMigrations(c);
            const old = new Set(
              all.filter((m) => m.phase === "completed" && m.id !== current.id).map((m) => m.versionSchema),
            );
            if (current.previousVersionSchema) old.add(current.previousVersionSchema);
            old.delete(current.versionSchema);
            for (const s of old) await dropVersionSchema(c, s);
          });
          const order = prepared.ops.map((op, i) => ({ op, i }));
          order.sort(
            (a, b) => Number(Boolean(a.op.completeLast)) - Number(Boolean(b.op.completeLast)) || a.i - b.i,
          );
          for (const { op, i } of order) await op.complete(ctx(i));
          await step("complete:views", async (c) => {
            const model = await readModel(c, current.baseSchema);
            await createVersionSchema(c, current.versionSchema, current.baseSchema, model, options.grants);
          });
        });
        row = await state.transition(pool, current, "completed");
        return result("complete", row, steps, t0, await backfillProgress(row.id));
      });
    },

    async rollback(name) {
      const t0 = Date.now();
      return withCommandLock(async () => {
        let row = await mustFind(name);
        if (row.phase === "rolled_back")
          return result("rollback", row, [], t0, await backfillProgress(row.id));
        row = await state.transition(pool, row, "rolling_back");
        const current = row;
        const steps = await runSteps(current, async ({ prepared, ctx, step }) => {
          await step("rollback:drop-schema", async (c) => {
            await dropVersionSchema(c, current.versionSchema);
          });
          for (let i = prepared.ops.length - 1; i >= 0; i--) await prepared.ops[i]!.rollback(ctx(i));
        });
        row = await state.transition(pool, current, "rolled_back");
        return result("rollback", row, steps, t0, await backfillProgress(row.id));
      });
    },

    async verify(name) {
      const row = name
        ? await mustFind(name)
        : (await state.stateExists(pool))
          ? await state.findActive(pool)
          : undefined;
      if (!row) throw new MigrationError("NOT_FOUND", "no active migration to verify");
      if (row.phase !== "active") {
        return {
          ok: false,
          migration: row.name,
          checks: [{ name: "phase", ok: false, detail: `migration is ${row.phase}, not active` }],
        };
      }
      const prepared = prepare(definitionOf(row), row.baseModel);
      const ctxs = prepared.ops.map(
        (_, i): OpContext => ({
          schema: row.baseSchema,
          migrationId: row.id,
          migrationName: row.name,
          index: i,
          before: prepared.models[i]!,
          after: prepared.models[i + 1]!,
          base: prepared.models[0]!,
          step: async () => {
            throw new Error("verify is read-only");
          },
          stepOutsideTransaction: async () => {
            throw new Error("verify is read-only");
          },
          isDone: () => false,
          recordAside: async () => undefined,
        }),
      );
      return verifyMigration({ pool, row, ops: prepared.ops, ctxs, newModel: prepared.models.at(-1)! });
    },

    async status() {
      if (!(await state.stateExists(pool)))
        return { active: null, migrations: [], versionSchemas: [], aside: [] };
      const rows = await state.listMigrations(pool);
      const steps = await pool.query<{ id: string; n: string }>(
        `SELECT migration_id AS id, count(*) AS n FROM ${state.STATE_SCHEMA}.steps GROUP BY 1`,
      );
      const stepCount = new Map(steps.rows.map((r) => [Number(r.id), Number(r.n)]));
      const summaries: MigrationSummary[] = [];
      for (const row of rows) {
        summaries.push({
          name: row.name,
          id: row.id,
          attempt: row.attempt,
          phase: row.phase,
          versionSchema: row.versionSchema,
          previousVersionSchema: row.previousVersionSchema,
          operations: prepare(definitionOf(row), row.baseModel).ops.map((o) => o.describe()),
          stepsDone: stepCount.get(row.id) ?? 0,
          backfill: (await backfillProgress(row.id)).map((b) => ({
            table: b.table,
            rowsDone: b.rowsDone,
            done: b.done,
          })),
          lastError: row.lastError,
          updatedAt: row.updatedAt,
        });
      }
      const schemas = await pool.query<{ nspname: string }>(
        `SELECT nspname FROM pg_namespace WHERE nspname = ANY($1::text[])`,
        [rows.map((r) => r.versionSchema)],
      );
      const existing = new Set(schemas.rows.map((r) => r.nspname));
      return {
        active: summaries.find((s) => !state.isFinal(s.phase)) ?? null,
        migrations: summaries,
        versionSchemas: [...new Set(rows.map((r) => r.versionSchema))].filter((s) => existing.has(s)),
        aside: await state.listAside(pool),
      };
    },

    async purgeRolledBack({ olderThanMs }) {
      return withCommandLock(async () => {
        const due = (await state.listAside(pool)).filter(
          (a) => !a.purgedAt && a.renamedAt.getTime() <= Date.now() - olderThanMs,
        );
        for (const a of due) {
          await inTransaction(
            pool,
            policy,
            `purge ${a.table}${a.column ? `.${a.column}` : ""}`,
            async (c) => {
              if (a.kind === "table")
                await c.query(`DROP TABLE IF EXISTS ${qualified(a.schema, a.table)} CASCADE`);
              else {
                const exists = await c.query("SELECT to_regclass($1) IS NOT NULL AS ok", [
                  qualified(a.schema, a.table),
                ]);
                if (exists.rows[0]?.ok) {
                  await c.query(
                    `ALTER TABLE ${qualified(a.schema, a.table)} DROP COLUMN IF EXISTS ${ident(a.column ?? "")}`,
                  );
                }
              }
              await c.query(`UPDATE ${state.STATE_SCHEMA}.aside SET purged_at = now() WHERE id = $1`, [a.id]);
            },
          );
          log(`purged ${a.kind} ${a.table}${a.column ? `.${a.column}` : ""} (was ${a.originalName})`);
        }
        return { purged: due };
      });
    },

    async bindRole(role, migrationName) {
      const row = await mustFind(migrationName);
      await pool.query(
        `DO $$ BEGIN EXECUTE format('ALTER ROLE %I IN DATABASE %I SET search_path = %I', $a$${role.replace(/\$/g, "")}$a$, current_database(), $b$${row.versionSchema.replace(/\$/g, "")}$b$); END $$`,
      );
      return { role, searchPath: row.versionSchema };
    },

    versionSchema(migrationName) {
      const s = versionSchemaName(service, migrationName);
      return { schema: s, ...connectionSettings(s) };
    },

    async close() {
      await pool.end();
    },
  };
  return engine;
}
