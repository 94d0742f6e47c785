/**
 * The compensations the forward path registers on the saga, by name. They
 * read the run's fields when they run (green, blue, the migration), not when
 * they are registered; and because they are rebuilt from their names, a run
 * that continued as new (continuation.ts) gets the same undo steps back.
 */
import type { CompensationName } from "../../lib/deployment/continuation";
import { call, OPTS } from "./activities";
import type { DeploymentRun } from "./run";
import type { SagaEntry } from "./saga";

export function compensationFor(run: DeploymentRun, name: CompensationName): SagaEntry {
  switch (name) {
    case "destroyGreen":
      return destroyGreen(run);
    case "rollbackSchema":
      return rollbackSchema(run);
    case "restoreTraffic":
      return restoreTraffic(run);
  }
}

function destroyGreen(run: DeploymentRun): SagaEntry {
  const { key, input } = run;
  return {
    name: "destroyGreen",
    kind: "infra",
    run: () => call("destroyGreen", OPTS.reliable, `destroy green ${input.version}`, { key }),
  };
}

function rollbackSchema(run: DeploymentRun): SagaEntry {
  const { key, input } = run;
  return {
    name: "rollbackSchema",
    kind: "schema",
    run: async () => {
      await call("rollbackSchema", OPTS.reliable, `roll back schema of ${input.version}`, {
        key,
        ...run.database,
        migration: run.migration,
      });
      run.status.activeMigration = null;
    },
  };
}

/** While blue is still unknown (null) the activity reads it back from the router. */
function restoreTraffic(run: DeploymentRun): SagaEntry {
  const { key, status } = run;
  return {
    name: "restoreTraffic",
    kind: "traffic",
    run: async () => {
      const restored = await call(
        "restoreTrafficToBlue",
        OPTS.reliable,
        `all traffic back to ${run.blue?.version ?? "blue"}`,
        {
          key,
          blue: run.blue,
        },
      );
      status.weights = { blue: 100, green: 0 };
      status.serving =
        restored?.blueVersion && restored.blueVersion === run.servingBefore?.version
          ? run.servingBefore
          : restored?.blueVersion
            ? { version: restored.blueVersion, artifactDigest: null }
            : null;
    },
  };
}
