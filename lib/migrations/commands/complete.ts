/**
 * Complete (contract): once the old version no longer serves, turns what both
 * versions shared into what only the new one needs. Two parts:
 *
 *  1. while the migration is still `active`, everything that can fail on the
 *     data but changes nothing the old version relies on: VALIDATE the
 *     constraints start added NOT VALID, make sure the indexes the contract
 *     will attach are built (`prepareComplete` of each operation). A failure
 *     leaves the migration active: fix the cause and complete again, or
 *     roll back.
 *  2. `completing`: drop the old version's views (rollback can recreate
 *     them), each operation's contract step (drops, renames, swaps), then the
 *     new version's final views. Until the first contract step commits,
 *     rollback is still possible (see next-step.ts); after it, only complete
 *     can finish, and a rerun resumes where it stopped.
 */
import { readModel } from "../catalog";
import * as state from "../state";
import { MigrationError } from "../types";
import { createVersionSchema, dropVersionSchema } from "../versioned-schema";
import { type CommandResult, type EngineContext, findStartedMigration, runCommand } from "./context";
import { runPhase, runSteps, type StepRun } from "./step-runner";

export async function completeMigration(engine: EngineContext, name: string): Promise<CommandResult> {
  return runCommand(engine, "complete", async () => {
    const latest = await findStartedMigration(engine, name);
    if (latest.phase === "completed") return { row: latest, steps: [] };
    if (latest.phase === "starting") {
      throw new MigrationError(
        "INVALID_PHASE",
        `migration '${name}' has not finished starting; rerun start first (or roll it back)`,
      );
    }
    const checked = latest.phase === "active" ? await runSteps(engine, latest, runPrepareSteps) : [];
    const contracted = await runPhase(engine, latest, { during: "completing", after: "completed" }, (run) =>
      runContractSteps(engine, run),
    );
    return { row: contracted.row, steps: [...checked, ...contracted.steps] };
  });
}

async function runPrepareSteps(run: StepRun): Promise<void> {
  const { prepared, contextFor } = run;
  for (let i = 0; i < prepared.ops.length; i++) await prepared.ops[i]!.prepareComplete?.(contextFor(i));
}

async function runContractSteps(engine: EngineContext, run: StepRun): Promise<void> {
  const { row, prepared, contextFor, step } = run;
  await step("complete:drop-old-schemas", async (c) => {
    // The old version is gone once we contract: drop its views first, they depend on columns dropped next.
    // Only this scope's: another service's (or environment's) versions on the database are not ours to drop.
    const all = await state.listMigrations(c, engine.scope);
    const old = new Set(
      all.filter((m) => m.phase === "completed" && m.id !== row.id).map((m) => m.versionSchema),
    );
    if (row.previousVersionSchema) old.add(row.previousVersionSchema);
    old.delete(row.versionSchema);
    for (const s of old) await dropVersionSchema(c, s);
  });
  // Operations marked completeLast (a table rename others refer to physically) wait for the rest.
  const order = prepared.ops.map((op, i) => ({ op, i }));
  order.sort((a, b) => Number(Boolean(a.op.completeLast)) - Number(Boolean(b.op.completeLast)) || a.i - b.i);
  for (const { op, i } of order) await op.complete(contextFor(i));
  await step("complete:views", async (c) => {
    const model = await readModel(c, row.baseSchema);
    await createVersionSchema(c, row.versionSchema, row.baseSchema, model, engine.options.grants ?? [], {
      service: row.service,
      environment: row.environment,
      migration: row.name,
    });
  });
}
