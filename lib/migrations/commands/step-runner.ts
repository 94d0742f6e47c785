/**
 * How start, complete and rollback execute: each named step runs at most once
 * per attempt, its record committing with its effect, so a rerun after a
 * crash skips what already happened.
 */
import type { PoolClient } from "pg";
import { isConnectionLoss } from "../connection-loss";
import { inTransaction, oneStatementClient, outsideTransaction, rolledBack } from "../ddl";

export { oneStatementClient };

import * as state from "../state";
import { MigrationError, type OpContext } from "../types";
import type { EngineContext } from "./context";
import { type Prepared, prepareRecorded } from "./prepare";

/** The parts of an operation's context that act on the database; the rest is the same for every caller. */
export type StepEffects = Pick<
  OpContext,
  "step" | "stepOutsideTransaction" | "isDone" | "recordAside" | "inspect"
>;

/** The context operation `index` of a recorded attempt runs in. */
export function operationContext(
  row: state.MigrationRow,
  prepared: Prepared,
  index: number,
  effects: StepEffects,
): OpContext {
  return {
    schema: row.baseSchema,
    migrationId: row.id,
    migrationName: row.name,
    index,
    before: prepared.models[index]!,
    after: prepared.models[index + 1]!,
    base: prepared.models[0]!,
    final: prepared.models[prepared.ops.length]!,
    ...effects,
  };
}

/** What a command's body works with while its steps run. */
export interface StepRun {
  /** The attempt the steps belong to. */
  row: state.MigrationRow;
  prepared: Prepared;
  /** Context of operation `index`, sharing this run's step record. */
  contextFor(index: number): OpContext;
  step: OpContext["step"];
  isDone: OpContext["isDone"];
}

/**
 * Runs a command's body over the attempt's operations. On success the row's
 * last error is cleared; on failure it is recorded (best effort) and anything
 * that is not already a MigrationError becomes FAILED. Returns the steps this
 * call executed, in order.
 */
export async function runSteps(
  engine: EngineContext,
  row: state.MigrationRow,
  body: (run: StepRun) => Promise<void>,
): Promise<string[]> {
  const prepared = prepareRecorded(row);
  const done = await state.doneSteps(engine.pool, row.id);
  const executed: string[] = [];
  const effects = stepEffects(engine, row, done, executed);
  const contextFor = (index: number) => operationContext(row, prepared, index, effects);
  try {
    await body({ row, prepared, contextFor, step: effects.step, isDone: effects.isDone });
    await state.recordError(engine.pool, row.id, null);
  } catch (err) {
    const message = (err as Error).message;
    await state.recordError(engine.pool, row.id, message).catch(() => undefined);
    if (err instanceof MigrationError) throw err;
    // The database went away mid-step: nothing is wrong with the migration, and running the command again resumes it.
    if (isConnectionLoss(err))
      throw new MigrationError(
        "CONNECTION_LOST",
        `${row.name}: ${message} (the database connection was lost)`,
        {
          cause: err,
        },
      );
    throw new MigrationError("FAILED", `${row.name}: ${message}`, { cause: err });
  }
  return executed;
}

/** Step functions that skip what `done` holds and append what they execute to `executed`. */
function stepEffects(
  engine: EngineContext,
  row: state.MigrationRow,
  done: Set<string>,
  executed: string[],
): StepEffects {
  const { pool, policy } = engine;
  const afterStep = async (name: string) => {
    await engine.options.hooks?.afterStep?.(name);
  };
  const finished = async (name: string) => {
    done.add(name);
    executed.push(name);
    engine.log(`${row.name}: ${name}`);
    await afterStep(name);
  };
  return {
    async step(name, fn) {
      if (done.has(name)) return;
      await engine.options.hooks?.beforeStep?.(name);
      await inTransaction(pool, policy, name, async (c) => {
        await fn(oneStatementClient(c));
        await state.recordStep(c, row.id, name);
      });
      await finished(name);
    },
    // The effect commits on its own, so a crash can land before the record: the hook lets tests put one there.
    async stepOutsideTransaction(name, fn) {
      if (done.has(name)) return;
      await engine.options.hooks?.beforeStep?.(name);
      await outsideTransaction(pool, policy, name, (c) => fn(oneStatementClient(c)));
      await afterStep(`${name}#effect`);
      await state.recordStep(pool, row.id, name);
      await finished(name);
    },
    isDone: (name) => done.has(name),
    recordAside: (c: PoolClient, entry) => state.recordAside(c, row.id, row.baseSchema, entry),
    inspect: (fn) => rolledBack(pool, fn),
  };
}

/**
 * Moves the attempt to its in-progress phase, runs the steps, and moves it to
 * its final phase. An interrupted command resumes here: the in-progress
 * phase is kept, so only the steps not yet recorded run.
 */
export async function runPhase(
  engine: EngineContext,
  row: state.MigrationRow,
  phases: { during: state.Phase; after: state.Phase },
  body: (run: StepRun) => Promise<void>,
): Promise<{ row: state.MigrationRow; steps: string[] }> {
  const current = await state.transition(engine.pool, row, phases.during);
  const steps = await runSteps(engine, current, body);
  return { row: await state.transition(engine.pool, current, phases.after), steps };
}
