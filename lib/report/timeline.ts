/**
 * A decoded history with the lookups the extractor needs: each activity's
 * schedule, completion or failure, and the workflow time around an event
 * (workflow code's Date.now() is the start of the workflow task it runs in).
 */
import type { z } from "zod";
import type { HistoryEvent } from "./history-events";

export interface Activity {
  scheduled: Extract<HistoryEvent, { type: "activity-scheduled" }>;
  completed?: Extract<HistoryEvent, { type: "activity-completed" }>;
  failed?: Extract<HistoryEvent, { type: "activity-failed" }>;
}

/** The value when it has the shape, else null (history payloads are read, not trusted). */
export const parse = <T>(schema: z.ZodType<T>, v: unknown): T | null => {
  const r = schema.safeParse(v);
  return r.success ? r.data : null;
};

/** The history with lookups: activities by schedule, workflow time around an event. */
export class Timeline {
  readonly activities: Activity[] = [];
  private readonly taskStarts: Array<[id: number, atMs: number]> = [];

  constructor(readonly events: readonly HistoryEvent[]) {
    const byId = new Map<number, Activity>();
    for (const e of events) {
      if (e.type === "task-started") this.taskStarts.push([e.id, e.atMs]);
      else if (e.type === "activity-scheduled") {
        const a = { scheduled: e };
        byId.set(e.id, a);
        this.activities.push(a);
      } else if (e.type === "activity-completed") {
        const a = byId.get(e.scheduledId);
        if (a) a.completed = e;
      } else if (e.type === "activity-failed") {
        const a = byId.get(e.scheduledId);
        if (a) a.failed = e;
      }
    }
  }

  /** Workflow time of the task that produced event `id` (the last task started before it). */
  before(e: { id: number; atMs: number }): number {
    let t = e.atMs;
    for (const [id, at] of this.taskStarts) {
      if (id > e.id) break;
      t = at;
    }
    return t;
  }

  /** Workflow time of the task that handled event `id` (the first task started after it). */
  after(e: { id: number; atMs: number }): number {
    return this.taskStarts.find(([id]) => id > e.id)?.[1] ?? e.atMs;
  }

  named(activity: string): Activity[] {
    return this.activities.filter((a) => a.scheduled.activity === activity);
  }
}
