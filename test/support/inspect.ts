import type { Client } from "@temporalio/client";

export { stackCheckpoint } from "../../infra/pulumi/checkpoint";

/**
 * How often an activity type was started (attempt numbers) and completed in a
 * workflow's history — the evidence that a crash really caused a retry and
 * that the side effect still completed exactly once.
 */
export async function activityAttempts(
  client: Client,
  workflowId: string,
  activity: string,
): Promise<{ started: number[]; completed: number }> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const scheduled = new Set<string>();
  const started: number[] = [];
  let completed = 0;
  for (const e of history.events ?? []) {
    if (e.activityTaskScheduledEventAttributes?.activityType?.name === activity)
      scheduled.add(String(e.eventId));
    const s = e.activityTaskStartedEventAttributes;
    if (s && scheduled.has(String(s.scheduledEventId))) started.push(s.attempt ?? 0);
    const c = e.activityTaskCompletedEventAttributes;
    if (c && scheduled.has(String(c.scheduledEventId))) completed++;
  }
  return { started, completed };
}
