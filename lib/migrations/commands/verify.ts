/** Verify: the read-only gate between start and the first traffic shift (checks in `../verify.ts`). */
import { rolledBack } from "../ddl";
import * as state from "../state";
import { MigrationError } from "../types";
import { type VerifyResult, verifyMigration } from "../verify";
import { type EngineContext, findStartedMigration } from "./context";
import { prepareRecorded } from "./prepare";
import { operationContext, type StepEffects } from "./step-runner";

/** Verify only reads: an operation that tries to run a step here is a bug, not a retry. */
function readOnly(engine: EngineContext, done: Set<string>): StepEffects {
  return {
    step: async () => {
      throw new Error("verify is read-only");
    },
    stepOutsideTransaction: async () => {
      throw new Error("verify is read-only");
    },
    isDone: (name) => done.has(name),
    recordAside: async () => undefined,
    inspect: (fn) => rolledBack(engine.pool, fn),
  };
}

/** Verifies `name`, or the migration in progress when no name is given. */
export async function verifyActiveMigration(engine: EngineContext, name?: string): Promise<VerifyResult> {
  const { pool } = engine;
  const row = name
    ? await findStartedMigration(engine, name)
    : (await state.stateExists(pool))
      ? await state.findActive(pool, engine.scope)
      : undefined;
  if (!row) throw new MigrationError("NOT_FOUND", "no active migration to verify");
  if (row.phase !== "active") {
    return {
      ok: false,
      migration: row.name,
      checks: [{ name: "phase", ok: false, detail: `migration is ${row.phase}, not active` }],
    };
  }
  const prepared = prepareRecorded(row);
  const effects = readOnly(engine, await state.doneSteps(pool, row.id));
  const ctxs = prepared.ops.map((_, i) => operationContext(row, prepared, i, effects));
  return verifyMigration({ pool, row, ops: prepared.ops, ctxs, newModel: prepared.models.at(-1)! });
}
