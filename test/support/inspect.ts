import fs from "node:fs";
import path from "node:path";
import type { Client } from "@temporalio/client";
import { pulumiPaths } from "../../infra/pulumi/workspace";

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

/** A stack's checkpoint on the local file backend: its resources and pending operations (undefined: no stack). */
export function stackCheckpoint(
  project: string,
  stackName: string,
): { resources: Array<{ type: string }>; pending: unknown[] } | undefined {
  const file = path.join(pulumiPaths(project).backendDir, ".pulumi", "stacks", project, `${stackName}.json`);
  if (!fs.existsSync(file)) return undefined;
  const json = JSON.parse(fs.readFileSync(file, "utf8"));
  return {
    resources: json.checkpoint.latest?.resources ?? [],
    pending: json.checkpoint.latest?.pending_operations ?? [],
  };
}
