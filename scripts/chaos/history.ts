/**
 * A deployment's Temporal history, flattened to what the chaos suite reads
 * from it: when each event happened, which worker did the work, and which
 * activity an event belongs to. Recovery times are measured on these server
 * timestamps, and "the history tells what happened" is checked against them.
 */
import type { WorkflowHandle } from "@temporalio/client";
import { temporal } from "@temporalio/proto";

const { EventType } = temporal.api.enums.v1;

export interface HistoryEvent {
  id: number;
  at: number;
  type: string;
  /** Worker identity on started/completed tasks. */
  identity: string | null;
  /** Activity type of activity events. */
  activity: string | null;
  attempt: number | null;
  failure: string | null;
}

const ms = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) =>
  t ? Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6) : 0;

export async function fetchEvents(handle: WorkflowHandle): Promise<HistoryEvent[]> {
  const history = await handle.fetchHistory();
  const activityOf = new Map<string, string>();
  return (history.events ?? []).map((e) => {
    const type = (EventType[e.eventType ?? 0] ?? String(e.eventType)).replace(/^EVENT_TYPE_/, "");
    const sched = e.activityTaskScheduledEventAttributes;
    if (sched) activityOf.set(String(e.eventId), sched.activityType?.name ?? "?");
    const ref =
      e.activityTaskStartedEventAttributes?.scheduledEventId ??
      e.activityTaskCompletedEventAttributes?.scheduledEventId ??
      e.activityTaskFailedEventAttributes?.scheduledEventId ??
      e.activityTaskTimedOutEventAttributes?.scheduledEventId ??
      e.activityTaskCanceledEventAttributes?.scheduledEventId;
    const failure =
      e.activityTaskFailedEventAttributes?.failure?.message ??
      e.activityTaskTimedOutEventAttributes?.failure?.message ??
      e.workflowTaskFailedEventAttributes?.failure?.message ??
      null;
    return {
      id: Number(e.eventId),
      at: ms(e.eventTime),
      type,
      identity:
        e.workflowTaskCompletedEventAttributes?.identity ??
        e.activityTaskStartedEventAttributes?.identity ??
        e.workflowTaskStartedEventAttributes?.identity ??
        null,
      activity: sched
        ? (sched.activityType?.name ?? null)
        : ref != null
          ? (activityOf.get(String(ref)) ?? null)
          : null,
      attempt: e.activityTaskStartedEventAttributes?.attempt ?? null,
      failure,
    };
  });
}
