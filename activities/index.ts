import { createAnalysisActivities } from "./analysis";
import { createMigrationActivities } from "./database";
import type { DeploymentDeps } from "./deployment-deps";
import { createEnvironmentActivities } from "./infra";
import { createNotifyActivities } from "./notify";
import { createPreflightActivities } from "./preflight";
import { createTrafficActivities } from "./traffic";
import { createVerifyActivities } from "./verify";

export type { DeploymentDeps } from "./deployment-deps";

/**
 * Builds every activity from its drivers, so the same workflow runs on fake
 * drivers (workflow tests) and real ones (integration, dev, demo). Every
 * driver is required (DeploymentDeps): a worker missing one does not compile.
 */
export function createActivities(deps: DeploymentDeps) {
  return {
    ...createPreflightActivities(deps),
    ...createEnvironmentActivities(deps),
    ...createMigrationActivities(deps),
    ...createTrafficActivities(deps),
    ...createVerifyActivities(deps),
    ...createAnalysisActivities(deps),
    ...createNotifyActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
