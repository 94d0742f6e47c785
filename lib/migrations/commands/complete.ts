/**
 * Complete (contract): once the old version no longer serves, drops its views
 * and the old objects, and turns what both versions shared into what only the
 * new one needs. Ends `completed`; from `completing` there is no way back.
 */
import { readModel } from "../catalog";
import * as state from "../state";
import { MigrationError } from "../types";
import { createVersionSchema, dropVersionSchema } from "../versioned-schema";
import { type CommandResult, type EngineContext, findStartedMigration, runCommand } from "./context";
import { runPhase, type StepRun } from "./step-runner";

export async function completeMigration(engine: EngineContext, name: string): Promise<CommandResult> {
  return runCommand(engine, "complete", async () => {
    const latest = await findStartedMigration(engine, name);
    if (latest.phase === "completed") return { row: latest, steps: [] };
    if (latest.phase === "starting") {
      throw new MigrationError(
        "INVALID_PHASE",
        `migration '${name}' has not finished starting; rerun start first`,
      );
    }
    return runPhase(engine, latest, { during: "completing", after: "completed" }, (run) =>
      runCompleteSteps(engine, run),
    );
  });
}

async function runCompleteSteps(engine: EngineContext, run: StepRun): Promise<void> {
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
