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
import { mergeDefinitions, normalizeDefinition, preflight, prepare, prepareTogether } from "./prepare";
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
      if (latest?.parts && latest.phase !== "rolled_back") {
        return startedWithOthers(engine, latest, definition, owner);
      }
      refuseConflictingAttempt(latest, definition);
      refuseForeignAttempt(engine, latest, owner);
      if (latest && (latest.phase === "active" || latest.phase === "completed")) {
        return { row: latest, steps: [] };
      }
      const row =
        !latest || latest.phase === "rolled_back"
          ? await insertAttempt(engine, definition, null, latest, owner)
          : latest;
      return runPhase(engine, row, { during: "starting", after: "active" }, (run) =>
        runStartSteps(engine, run),
      );
    },
    startedAt,
  );
}

/**
 * Starts several migrations (a release's, in order) as ONE attempt: every
 * operation of every migration starts, one version schema (named after the
 * last migration) shows the new version on top of all of them, and the old
 * version's schema is left as it is. Complete contracts them all in order,
 * rollback undoes them all, newest operation first. The attempt keeps each
 * migration's name and operations (`parts`), so status reports each, and
 * complete / rollback / verify accept any of the names. One migration is an
 * ordinary start.
 */
export async function startTogether(
  engine: EngineContext,
  migrations: readonly unknown[],
  options: StartOptions = {},
): Promise<CommandResult> {
  if (migrations.length === 1) return startMigration(engine, migrations[0], options);
  const startedAt = Date.now();
  if (migrations.length === 0) throw new MigrationError("VALIDATION", "no migration to start");
  const parts = migrations.map((m) => normalizeDefinition(m));
  const seen = new Set<string>();
  for (const p of parts) {
    if (seen.has(p.name)) {
      throw new MigrationError("VALIDATION", `migration '${p.name}' is listed twice; each one starts once`);
    }
    seen.add(p.name);
  }
  const definition = mergeDefinitions(parts);
  const owner = options.owner ?? null;
  return runCommand(
    engine,
    "start",
    async () => {
      const latest = await state.findMigration(engine.pool, engine.scope, definition.name);
      const same =
        latest && latest.phase !== "rolled_back" && canonicalJson(latest.parts) === canonicalJson(parts);
      if (!same) {
        for (const p of parts) await refuseRecordedPart(engine, p, owner);
        const row = await insertAttempt(
          engine,
          definition,
          parts,
          latest?.phase === "rolled_back" ? latest : undefined,
          owner,
        );
        return runPhase(engine, row, { during: "starting", after: "active" }, (run) =>
          runStartSteps(engine, run),
        );
      }
      refuseConflictingAttempt(latest, definition);
      refuseForeignAttempt(engine, latest, owner);
      if (latest.phase === "active" || latest.phase === "completed") return { row: latest, steps: [] };
      return runPhase(engine, latest, { during: "starting", after: "active" }, (run) =>
        runStartSteps(engine, run),
      );
    },
    startedAt,
  );
}

/** "0002_a, 0003_b and 0004_c": the migrations of an attempt that started several. */
function partNames(row: state.MigrationRow): string {
  const names = (row.parts ?? []).map((p) => p.name);
  return names.length > 1 ? `${names.slice(0, -1).join(", ")} and ${names.at(-1)}` : (names[0] ?? row.name);
}

/**
 * Starting one migration that an attempt of several already holds: done if
 * that attempt completed with the same definition; otherwise the attempt
 * (still in progress) must be completed or rolled back as a whole.
 */
function startedWithOthers(
  engine: EngineContext,
  row: state.MigrationRow,
  definition: MigrationDefinition,
  owner: string | null,
): { row: state.MigrationRow; steps: string[] } {
  const part = row.parts?.find((p) => p.name === definition.name);
  if (part && canonicalJson(part.operations) !== canonicalJson(definition.operations)) {
    throw new MigrationError(
      "DEFINITION_CHANGED",
      `migration '${definition.name}' was ${row.phase === "completed" ? "completed" : "started"} (together with the others of ${partNames(row)}) with a different definition; ` +
        "give the change a new migration",
    );
  }
  if (row.phase === "completed") return { row, steps: [] };
  refuseForeignAttempt(engine, row, owner);
  throw new MigrationError(
    "ANOTHER_ACTIVE",
    `migration '${definition.name}' is ${row.phase} ${scopeText(engine)} as part of one attempt with ${partNames(row)}; ` +
      `complete or roll back that attempt as a whole (shipshape migrate complete|rollback ${row.name})`,
  );
}

/** A migration to start together with others must not be recorded already (completed, or in progress on its own). */
async function refuseRecordedPart(
  engine: EngineContext,
  part: MigrationDefinition,
  owner: string | null,
): Promise<void> {
  const row = await state.findMigration(engine.pool, engine.scope, part.name);
  if (!row || row.phase === "rolled_back") return;
  refuseForeignAttempt(engine, row, owner);
  if (row.phase === "completed") {
    throw new MigrationError(
      "VALIDATION",
      `migration '${part.name}' is already completed ${scopeText(engine)}; start only the migrations after it`,
    );
  }
  throw new MigrationError(
    "ANOTHER_ACTIVE",
    `migration '${part.name}' is ${row.phase} ${scopeText(engine)}${row.parts ? ` as part of one attempt with ${partNames(row)}` : " on its own"}; ` +
      `complete or roll it back before starting it together with others (shipshape migrate rollback ${row.name})`,
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
  parts: MigrationDefinition[] | null,
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
  await preflight(
    pool,
    engine.schema,
    (parts ? prepareTogether(parts, base) : prepare(definition, base)).ops,
  );
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
    parts: parts?.map((p) => ({ name: p.name, operations: p.operations })) ?? null,
    baseModel: base,
  });
  engine.log(
    `${row.name}: starting (attempt ${row.attempt}${parts ? `, together with ${partNames(row)}` : ""}) → ${row.versionSchema}`,
  );
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
    const model = reconcileWithCatalog(next, prepared.models[0]!, catalog, prepared.models.slice(1));
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
 * `between` are the models after each operation: a table or column one of
 * them has was made by an operation, even if a later one hides it from the
 * new version (a table created, then a column of it shadowed or dropped).
 */
export function reconcileWithCatalog(
  next: SchemaModel,
  base: SchemaModel,
  catalog: SchemaModel,
  between: readonly SchemaModel[] = [],
): SchemaModel {
  const out = cloneModel(next);
  const known = [base, ...between];
  const knownTables = new Set(known.flatMap((m) => m.tables.map((t) => t.physical)));
  const knownColumns = (table: string) =>
    new Set(
      known.flatMap((m) =>
        m.tables.filter((t) => t.physical === table).flatMap((t) => t.columns.map((c) => c.physical)),
      ),
    );
  const nextPhysical = new Set(out.tables.map((t) => t.physical));
  for (const t of catalog.tables) {
    if (!knownTables.has(t.physical) && !nextPhysical.has(t.physical))
      out.tables.push(cloneModel({ tables: [t] }).tables[0]!);
  }
  for (const t of out.tables) {
    const cat = catalog.tables.find((x) => x.physical === t.physical);
    if (!cat) continue;
    const used = new Set(t.columns.map((c) => c.physical));
    const made = knownColumns(t.physical);
    for (const c of cat.columns) {
      if (!used.has(c.physical) && !made.has(c.physical) && !t.columns.some((x) => x.name === c.name)) {
        t.columns.push({ ...c });
      }
    }
  }
  return out;
}
