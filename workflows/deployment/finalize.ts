/**
 * Finalize, the point of no return: green takes over the routes, blue is
 * decommissioned, the schema is contracted. Nothing is left to compensate, so
 * the saga is cleared; each step still retries until it succeeds or an
 * operator skips it (saga.ts), and a cancel does not interrupt it.
 */
import { CancellationScope } from "@temporalio/workflow";
import type { DeploymentResult } from "../../lib/deployment/types";
import { call, OPTS } from "./activities";
import { postRolloutHooks } from "./hooks";
import type { DeploymentRun } from "./run";
import { newCompensationRecord, runReliably, type SagaEntry } from "./saga";

export async function finalize(run: DeploymentRun): Promise<DeploymentResult> {
  run.finalizing = true;
  run.phase("finalizing");
  run.saga.clear();
  const steps = finalizeSteps(run);
  const skipped: string[] = [];
  await CancellationScope.nonCancellable(async () => {
    for (const step of steps) {
      const record = newCompensationRecord(step);
      run.status.compensations.push(record);
      if ((await runReliably(record, step.run, run.reliableHooks)) === "skipped") skipped.push(step.name);
      run.ran.push(record);
    }
  });
  await postRolloutHooks(run, "promoted", null);
  const reason = skipped.length > 0 ? `promoted; skipped by an operator: ${skipped.join(", ")}` : null;
  run.emit("promoted", `${run.label} promoted`, reason ? { reason } : {});
  await CancellationScope.nonCancellable(() => run.legacyNotify("promoted", `${run.label} promoted`));
  return run.finish("promoted", reason);
}

/** Only what this run created or replaced: its green, the blue it attached to, its migration. */
function finalizeSteps(run: DeploymentRun): SagaEntry[] {
  const { key, input, green, blue, migration } = run;
  const steps: SagaEntry[] = [];
  if (green)
    steps.push({
      name: "finalize:routes",
      kind: "traffic",
      run: () =>
        call("finalizeRoutes", OPTS.reliable, `${input.version} becomes blue`, {
          key,
          green: green.instances,
        }),
    });
  if (blue)
    steps.push({
      name: "finalize:decommissionBlue",
      kind: "infra",
      run: () =>
        call("decommissionBlue", OPTS.reliable, `decommission ${blue.version}`, {
          key,
          blueVersion: blue.version,
        }),
    });
  if (migration)
    steps.push({
      name: "finalize:contractSchema",
      kind: "schema",
      run: async () => {
        await call("contractSchema", OPTS.reliable, `contract schema (${migration})`, {
          key,
          ...run.database,
          migration,
        });
        run.status.activeMigration = null;
      },
    });
  return steps;
}
