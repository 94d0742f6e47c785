import { createDatabaseActivities, type DatabaseDeps } from "./database";
import { createInfraActivities, type InfraDeps } from "./infra";

export type ActivityDeps = InfraDeps & DatabaseDeps;

/**
 * Builds every activity from its drivers, so the same workflow runs on fake
 * drivers (workflow tests) and real ones (integration, dev, demo).
 */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createInfraActivities(deps),
    ...createDatabaseActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
