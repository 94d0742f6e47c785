/**
 * A deployment that baked long is a chain of runs: each continued as new
 * into the next (workflows/deployment/continuation.ts). The report reads the
 * chain as one history: the first run's start, every run's events in order
 * (ids shifted so they keep increasing and activity events still find their
 * schedule), and only the last run's close.
 */
import type { DecodedHistory, HistoryEvent } from "./history-events";

/** The run a run's start says it continued from, if any. */
export function continuedFrom(history: DecodedHistory): string | null {
  const start = history.events.find((e) => e.type === "started");
  return start?.type === "started" ? (start.continuedFrom ?? null) : null;
}

/** The runs of one deployment, first to last, as one history (`runIds` lists them). */
export function joinRuns(runs: readonly DecodedHistory[]): DecodedHistory {
  const first = runs[0];
  const last = runs.at(-1);
  if (!first || !last) throw new Error("joinRuns needs at least one run");
  if (runs.length === 1) return first;
  const events: HistoryEvent[] = [];
  let offset = 0;
  runs.forEach((run, i) => {
    let maxId = 0;
    for (const e of run.events) {
      maxId = Math.max(maxId, e.id);
      if (i > 0 && e.type === "started") continue;
      if (i < runs.length - 1 && e.type === "closed" && e.status === "continued-as-new") continue;
      const shifted = { ...e, id: e.id + offset };
      if ("scheduledId" in shifted) shifted.scheduledId += offset;
      events.push(shifted);
    }
    offset += maxId;
  });
  return { workflowId: last.workflowId, runId: last.runId, runIds: runs.map((r) => r.runId), events };
}
