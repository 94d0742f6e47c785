/**
 * Rollback (saga compensation): drops the new version's views and undoes each
 * operation in reverse order, putting aside (not dropping) the data the new
 * version wrote. Ends `rolled_back`; from `rolling_back` there is no way back.
 */
import { dropVersionSchema } from "../versioned-schema";
import { type CommandResult, type EngineContext, findStartedMigration, runCommand } from "./context";
import { runPhase } from "./step-runner";

export async function rollbackMigration(engine: EngineContext, name: string): Promise<CommandResult> {
  return runCommand(engine, "rollback", async () => {
    const latest = await findStartedMigration(engine, name);
    if (latest.phase === "rolled_back") return { row: latest, steps: [] };
    return runPhase(engine, latest, { during: "rolling_back", after: "rolled_back" }, async (run) => {
      await run.step("rollback:drop-schema", async (c) => {
        await dropVersionSchema(c, run.row.versionSchema);
      });
      const { ops } = run.prepared;
      for (let i = ops.length - 1; i >= 0; i--) await ops[i]!.rollback(run.contextFor(i));
    });
  });
}
