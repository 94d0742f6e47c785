import { createAnalysisActivities } from "./analysis";
import { createMigrationActivities } from "./database";
import { createDeliverNotificationActivities } from "./deliver-notification";
import type { DeploymentDeps } from "./deployment-deps";
import { createDriftActivities } from "./drift";
import { createHookActivities } from "./hooks";
import { createEnvironmentActivities } from "./infra";
import { createNotifyActivities } from "./notify";
import { createPreflightActivities } from "./preflight";
import { createSigningPolicyActivities, type SigningPolicyDeps } from "./signing-policy";
import { createTrafficActivities } from "./traffic";
import { createVerifyActivities } from "./verify";
import { createWatchActivities } from "./watch";

export type { DeploymentDeps } from "./deployment-deps";

/**
 * Builds every activity from its drivers, so the same workflow runs on fake
 * drivers (workflow tests) and real ones (integration, dev, demo). Every
 * driver is required (DeploymentDeps): a worker missing one does not compile.
 * The signing policy is not a driver but the worker's trust root (--policy):
 * none means the worker runs unsigned deployments only.
 */
export function createActivities(deps: DeploymentDeps & SigningPolicyDeps) {
  return {
    ...createPreflightActivities(deps),
    ...createEnvironmentActivities(deps),
    ...createMigrationActivities(deps),
    ...createTrafficActivities(deps),
    ...createVerifyActivities(deps),
    ...createAnalysisActivities(deps),
    ...createWatchActivities(deps),
    ...createNotifyActivities(deps),
    ...createHookActivities(deps),
    ...createDeliverNotificationActivities(deps),
    ...createSigningPolicyActivities(deps),
    ...createDriftActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
