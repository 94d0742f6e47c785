/**
 * Rollback (saga compensation): drops the new version's views and undoes each
 * operation in reverse order, putting aside (not dropping) the data the new
 * version wrote. Ends `rolled_back`; from `rolling_back` there is no way back.
 * A complete that stopped before its first contract step can still be rolled
 * back (next-step.ts): the old version's views, which complete drops first,
 * are recreated from the model the migration started from.
 */
import { schemaExists } from "../catalog";
import { canRollBack, nextStep } from "../next-step";
import * as state from "../state";
import { MigrationError } from "../types";
import { createVersionSchema, dropVersionSchema } from "../versioned-schema";
import {
  type CommandResult,
  type EngineContext,
  findStartedMigration,
  runCommand,
  scopeText,
} from "./context";
import { runPhase } from "./step-runner";

/** `owner`: roll back only an attempt this deployment started (a compensation); absent: any (the CLI). */
export interface RollbackOptions {
  owner?: string;
}

export async function rollbackMigration(
  engine: EngineContext,
  name: string,
  options: RollbackOptions = {},
): Promise<CommandResult> {
  return runCommand(engine, "rollback", async () => {
    const latest = await findStartedMigration(engine, name);
    if (latest.phase === "rolled_back") return { row: latest, steps: [] };
    if (options.owner !== undefined && latest.owner !== options.owner) {
      throw new MigrationError(
        "NOT_OWNER",
        `migration '${name}' ${scopeText(engine)} was started by ${latest.owner ?? "the CLI"}, not by ${options.owner}; a compensation only undoes its own deployment's migrations`,
      );
    }
    if (
      latest.phase === "completing" &&
      !canRollBack(latest.phase, await state.doneSteps(engine.pool, latest.id))
    ) {
      throw new MigrationError(
        "INVALID_PHASE",
        `migration '${name}' cannot roll back: ${nextStep({ ...latest, canRollBack: false })}`,
      );
    }
    return runPhase(engine, latest, { during: "rolling_back", after: "rolled_back" }, async (run) => {
      await run.step("rollback:drop-schema", async (c) => {
        const { service, environment, name } = run.row;
        await dropVersionSchema(c, run.row.versionSchema, { service, environment, migration: name });
      });
      const { ops } = run.prepared;
      for (let i = ops.length - 1; i >= 0; i--) await ops[i]!.rollback(run.contextFor(i));
      const previous = run.row.previousVersionSchema;
      if (previous && run.isDone("complete:drop-old-schemas")) {
        await run.step("rollback:restore-old-schema", async (c) => {
          if (await schemaExists(c, previous)) return;
          // Marked as the previous migration's own (the one that made it first).
          const before = await state.lastCompleted(engine.pool, engine.scope);
          await createVersionSchema(
            c,
            previous,
            run.row.baseSchema,
            run.row.baseModel,
            engine.options.grants ?? [],
            {
              service: run.row.service,
              environment: run.row.environment,
              migration: before?.name ?? run.row.name,
            },
          );
        });
      }
    });
  });
}
