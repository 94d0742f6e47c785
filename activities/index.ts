import { createAnalysisActivities } from "./analysis";
import { createDatabaseActivities, createMigrationActivities, type DatabaseDeps } from "./database";
import type { DeploymentDeps } from "./deployment-deps";
import { createEnvironmentActivities, createInfraActivities, type InfraDeps } from "./infra";
import { createNotifyActivities } from "./notify";
import { createPreflightActivities } from "./preflight";
import { createSigningPolicyActivities, type SigningPolicyDeps } from "./signing-policy";
import { createTrafficActivities } from "./traffic";
import { createVerifyActivities } from "./verify";

export type { DeploymentDeps } from "./deployment-deps";

/**
 * Walking-skeleton drivers and DeploymentWorkflow drivers. Every
 * driver is optional here: an activity whose driver the worker was not given
 * fails non-retryably with DriverNotConfigured, so a worker can serve the
 * skeleton alone (demo) or the full workflow.
 */
export type ActivityDeps = Partial<InfraDeps & DatabaseDeps> & Partial<DeploymentDeps> & SigningPolicyDeps;

/**
 * Builds every activity from its drivers, so the same workflow runs on fake
 * drivers (workflow tests) and real ones (integration, dev, demo).
 */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createInfraActivities(deps),
    ...createDatabaseActivities(deps),
    ...createPreflightActivities(deps),
    ...createEnvironmentActivities(deps),
    ...createMigrationActivities(deps),
    ...createTrafficActivities(deps),
    ...createVerifyActivities(deps),
    ...createAnalysisActivities(deps),
    ...createNotifyActivities(deps),
    ...createSigningPolicyActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
