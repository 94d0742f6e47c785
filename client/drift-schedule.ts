/**
 * A Temporal Schedule that runs the drift check of one service/environment
 * every N minutes (`shipshape drift <service>/<env> --every 15m`) and notifies
 * when it finds drift: the worker's log, and the environment's `notifications`
 * sinks that take `drift-detected` (as the last promotion's config has them).
 * A scheduled run has no client to read the last promotion with, so it checks
 * what the deployment preflight checks: blue (as the router names it) against its own stack and
 * release record — router weights and backends, the refresh preview, the
 * instances' health, the release files.
 */
import {
  type Client,
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
} from "@temporalio/client";
import { targetSpecOf } from "../lib/deployment/target-spec";
import { TASK_QUEUE } from "../lib/names";
import type { DriftCheckWorkflowInput } from "../workflows/drift/workflow";
import { DriftCheckError } from "./drift";
import { lastPromoted } from "./promoted-deployments";

export const driftScheduleId = (service: string, environment: string) =>
  `shipshape-drift:${service}:${environment}`;

/** Creates (or replaces the interval of) the drift schedule of a scope; returns its ID. */
export async function scheduleDrift(
  client: Client,
  scope: { service: string; environment: string },
  everyMs: number,
  options: { taskQueue?: string } = {},
): Promise<string> {
  const promoted = await lastPromoted(client, scope.service, scope.environment);
  if (!promoted) {
    throw new DriftCheckError(
      `${scope.service}/${scope.environment} has no promoted deployment yet: nothing to watch for drift`,
    );
  }
  const input: DriftCheckWorkflowInput = {
    ...scope,
    target: targetSpecOf(promoted.config, scope.environment),
    notify: true,
    // As the promoted config has them (secrets still ${env:NAME}): the worker resolves them.
    sinks: promoted.config.environments[scope.environment]?.notifications ?? [],
  };
  const scheduleId = driftScheduleId(scope.service, scope.environment);
  const action = {
    type: "startWorkflow" as const,
    workflowType: "driftCheckWorkflow",
    workflowId: `${scheduleId}:scheduled`,
    taskQueue: options.taskQueue ?? TASK_QUEUE,
    args: [input],
  };
  const spec = { intervals: [{ every: everyMs }] };
  try {
    await client.schedule.create({
      scheduleId,
      spec,
      action,
      policies: { overlap: ScheduleOverlapPolicy.SKIP },
    });
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await client.schedule.getHandle(scheduleId).update((previous) => ({ ...previous, spec, action }));
  }
  return scheduleId;
}

/** Deletes the drift schedule of a scope; false when there was none. */
export async function unscheduleDrift(
  client: Client,
  scope: { service: string; environment: string },
): Promise<boolean> {
  try {
    await client.schedule.getHandle(driftScheduleId(scope.service, scope.environment)).delete();
    return true;
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return false;
    throw err;
  }
}
