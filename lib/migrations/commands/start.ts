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
import { type CommandResult, type EngineContext, runCommand } from "./context";
import { normalizeDefinition, preflight, prepare } from "./prepare";
import { runPhase, type StepRun } from "./step-runner";

export async function startMigration(engine: EngineContext, migration: unknown): Promise<CommandResult> {
  const startedAt = Date.now();
  const definition = normalizeDefinition(migration);
  return runCommand(
    engine,
    "start",
    async () => {
      const latest = await state.findMigration(engine.pool, definition.name);
      refuseConflictingAttempt(latest, definition);
      if (latest && (latest.phase === "active" || latest.phase === "completed")) {
        return { row: latest, steps: [] };
      }
      const row =
        !latest || latest.phase === "rolled_back" ? await insertAttempt(engine, definition, latest) : latest;
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
 * Records a new attempt (the first, or one after a rollback) over the current
 * catalog. Everything that can refuse the migration — another one in
 * progress, operations that do not fit the old version — is checked before
 * anything is written.
 */
async function insertAttempt(
  engine: EngineContext,
  definition: MigrationDefinition,
  rolledBack: state.MigrationRow | undefined,
): Promise<state.MigrationRow> {
  const { pool } = engine;
  const active = await state.findActive(pool);
  if (active) {
    throw new MigrationError(
      "ANOTHER_ACTIVE",
      `cannot start '${definition.name}': migration '${active.name}' is ${active.phase} on this database; ` +
        `complete or roll it back first (one migration at a time)`,
    );
  }
  const base = await readModel(pool, engine.schema);
  await preflight(pool, engine.schema, prepare(definition, base).ops);
  const previous = await state.lastCompleted(pool);
  const previousSchema =
    previous && (await schemaExists(pool, previous.versionSchema)) ? previous.versionSchema : null;
  const row = await state.insertMigration(pool, {
    name: definition.name,
    attempt: (rolledBack?.attempt ?? 0) + 1,
    baseSchema: engine.schema,
    versionSchema: versionSchemaName(engine.service, definition.name),
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
    await createVersionSchema(c, row.versionSchema, row.baseSchema, model, engine.options.grants);
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
