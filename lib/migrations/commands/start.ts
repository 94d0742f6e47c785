/**
 * Start (expand): creates what the new version needs next to the old one, the
 * new version's schema of views, and backfills what the new columns derive
 * from old ones. Ends `active`: both versions usable side by side.
 */
import { runBackfill } from "../backfill";
import { canonicalJson } from "../canonical";
import { readModel, schemaExists } from "../catalog";
import type { MigrationDefinition } from "../file-format";
import { shadowColumn } from "../sql";
import * as state from "../state";
import { cloneModel, MigrationError, type OpContext, type Operation, type SchemaModel } from "../types";
import { createVersionSchema, versionSchemaName } from "../versioned-schema";
import { type CommandResult, type EngineContext, runCommand, scopeText } from "./context";
import { normalizeDefinition, preflight, prepare } from "./prepare";
import { runPhase, type StepRun } from "./step-runner";

/** Who starts a migration: a deployment ID (its compensation may undo it), or null (the CLI). */
export interface StartOptions {
  owner?: string | null;
}

export async function startMigration(
  engine: EngineContext,
  migration: unknown,
  options: StartOptions = {},
): Promise<CommandResult> {
  const startedAt = Date.now();
  const definition = normalizeDefinition(migration);
  const owner = options.owner ?? null;
  return runCommand(
    engine,
    "start",
    async () => {
      const latest = await state.findMigration(engine.pool, engine.scope, definition.name);
      refuseConflictingAttempt(latest, definition);
      refuseForeignAttempt(engine, latest, owner);
      if (latest && (latest.phase === "active" || latest.phase === "completed")) {
        return { row: latest, steps: [] };
      }
      const row =
        !latest || latest.phase === "rolled_back"
          ? await insertAttempt(engine, definition, latest, owner)
          : latest;
      return runPhase(engine, row, { during: "starting", after: "active" }, (run) =>
        runStartSteps(engine, run),
      );
    },
    startedAt,
  );
}

/** A start may resume or repeat the latest attempt only if that attempt is headed the same way with the same definition. */
function refuseConflictingAttempt(latest: state.MigrationRow | undefined, definition: MigrationDefinition) {
  if (!latest) return;
  if (latest.phase === "completing" || latest.phase === "rolling_back") {
    throw new MigrationError(
      "INVALID_PHASE",
      `migration '${latest.name}' is ${latest.phase}; run ${latest.phase === "completing" ? "complete" : "rollback"} to finish it`,
    );
  }
  if (latest.phase === "starting" || latest.phase === "active" || latest.phase === "completed") {
    if (canonicalJson(latest.definition) !== canonicalJson(definition)) {
      throw new MigrationError(
        "DEFINITION_CHANGED",
        `migration '${latest.name}' was ${latest.phase === "starting" ? "started" : latest.phase} with a different definition; ` +
          "roll it back before changing its file, or give the change a new migration",
      );
    }
  }
}

/**
 * A deployment never takes over an attempt another one started and left
 * unfinished: that one is stale (its deployment was terminated) or belongs to
 * a deployment still running, and only its owner — or a person — may finish it.
 */
function refuseForeignAttempt(
  engine: EngineContext,
  latest: state.MigrationRow | undefined,
  owner: string | null,
): void {
  if (!latest || state.isFinal(latest.phase) || owner === null || latest.owner === owner) return;
  throw new MigrationError(
    "ANOTHER_ACTIVE",
    `migration '${latest.name}' is ${latest.phase} ${scopeText(engine)}, started by ${latest.owner ?? "the CLI"}, not by ${owner}; ` +
      `finish it first (shipshape migrate rollback ${latest.name} --service ${engine.scope.service}` +
      `${engine.scope.environment ? ` --env ${engine.scope.environment}` : ""})`,
  );
}

/**
 * Records a new attempt (the first, or one after a rollback) over the current
 * catalog. Everything that can refuse the migration — another one in
 * progress, operations that do not fit the old version — is checked before
 * anything is written.
 */
async function insertAttempt(
  engine: EngineContext,
  definition: MigrationDefinition,
  rolledBack: state.MigrationRow | undefined,
  owner: string | null,
): Promise<state.MigrationRow> {
  const { pool } = engine;
  const active = await state.findActive(pool, engine.scope);
  if (active) {
    throw new MigrationError(
      "ANOTHER_ACTIVE",
      `cannot start '${definition.name}': migration '${active.name}' is ${active.phase} ${scopeText(engine)}` +
        `${active.owner ? ` (started by ${active.owner})` : ""}; complete or roll it back first (one migration at a time)`,
    );
  }
  const base = await readModel(pool, engine.schema);
  await preflight(pool, engine.schema, prepare(definition, base).ops);
  const previous = await state.lastCompleted(pool, engine.scope);
  const previousSchema =
    previous && (await schemaExists(pool, previous.versionSchema)) ? previous.versionSchema : null;
  const row = await state.insertMigration(pool, {
    ...engine.scope,
    name: definition.name,
    owner,
    attempt: (rolledBack?.attempt ?? 0) + 1,
    baseSchema: engine.schema,
    versionSchema: versionSchemaName({ ...engine.scope, migration: definition.name }),
    previousVersionSchema: previousSchema,
    definition,
    baseModel: base,
  });
  engine.log(`${row.name}: starting (attempt ${row.attempt}) → ${row.versionSchema}`);
  return row;
}

async function runStartSteps(engine: EngineContext, run: StepRun): Promise<void> {
  const { row, prepared, contextFor, step } = run;
  for (const i of startOrder(
    prepared.ops.map((_, i) => contextFor(i)),
    prepared.ops,
  )) {
    await prepared.ops[i]!.start(contextFor(i));
  }
  await step("start:views", async (c) => {
    const catalog = await readModel(c, row.baseSchema);
    const next = prepared.models[prepared.ops.length]!;
    const model = reconcileWithCatalog(next, prepared.models[0]!, catalog);
    await createVersionSchema(c, row.versionSchema, row.baseSchema, model, engine.options.grants ?? [], {
      service: row.service,
      environment: row.environment,
      migration: row.name,
    });
  });
  await backfillOperations(engine, run);
}

/**
 * Backfills, one operation at a time, the rows that existed before its
 * dual-write trigger did. Runs after the views so the new version is usable
 * while it works; each backfill resumes from its persisted cursor, and its
 * step marks it finished.
 */
async function backfillOperations(engine: EngineContext, run: StepRun): Promise<void> {
  const { row, prepared, contextFor, step } = run;
  for (let i = 0; i < prepared.ops.length; i++) {
    const spec = await prepared.ops[i]!.backfill?.(contextFor(i));
    if (!spec) continue;
    const name = `start:${i}:backfill`;
    const done = await state.doneSteps(engine.pool, row.id);
    if (done.has(name)) continue;
    await runBackfill({
      pool: engine.pool,
      policy: engine.policy,
      schema: row.baseSchema,
      table: spec.table,
      touchColumn: spec.touchColumn,
      migrationId: row.id,
      opIndex: i,
      options: engine.backfillOptions,
      onBatch: async (p) => {
        if (p.batches === 1) await engine.options.hooks?.afterStep?.(`${name}#batch`);
      },
    });
    await step(name, async () => undefined);
  }
}

/**
 * The order operations start in: the migration's, except that an operation
 * building on a column a later operation shadows (a check or an index on the
 * new `title`) starts right after that one, once the shadow exists.
 * Complete and rollback keep the migration's order.
 */
export function startOrder(ctxs: OpContext[], ops: Operation[]): number[] {
  const shadowedBy = new Map<string, number>();
  ops.forEach((op, i) => {
    const s = op.shadows?.();
    if (s) shadowedBy.set(`${s.table}.${shadowColumn(s.column)}`, i);
  });
  const at = ops.map((op, i) => {
    const after = (op.needs?.(ctxs[i]!) ?? []).map((k) => shadowedBy.get(k) ?? -1);
    const last = Math.max(-1, ...after);
    return last > i ? last + 0.5 : i;
  });
  return ops.map((_, i) => i).sort((a, b) => at[a]! - at[b]! || a - b);
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
