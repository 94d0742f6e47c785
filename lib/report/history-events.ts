/**
 * A deployment's Temporal history, decoded: the events the report is built
 * from, with their payloads already through the codec and the payload
 * converter (client/deployment-history.ts makes it). Plain data, no SDK
 * types, so the extractor (extract.ts) is pure and testable over recorded
 * histories. Payload values are `unknown`: the extractor parses what it reads.
 */

interface At {
  /** Event id in the history (ordering, and what activity events refer to). */
  id: number;
  /** Server time of the event, ms since the epoch. */
  atMs: number;
}

export type HistoryEvent =
  /** `continuedFrom`: the run this one continued as new from (a long bake's chain of runs). */
  | (At & { type: "started"; input: unknown; continuedFrom?: string })
  /** Every workflow task start: workflow code's Date.now() during that task is this time. */
  | (At & { type: "task-started" })
  | (At & { type: "activity-scheduled"; activity: string; input: unknown })
  | (At & { type: "activity-started"; scheduledId: number; attempt: number })
  | (At & { type: "activity-completed"; scheduledId: number; result: unknown })
  /** Failed, timed out or cancelled: the activity ended without a result. */
  | (At & { type: "activity-failed"; scheduledId: number; message: string })
  | (At & { type: "search-attributes"; fields: Record<string, unknown> })
  | (At & { type: "update-accepted"; updateId: string; name: string; args: unknown[] })
  | (At & { type: "update-completed"; updateId: string; result: unknown })
  | (At & { type: "signal"; name: string; args: unknown[] })
  | (At & { type: "completed"; result: unknown })
  /** Failed, terminated, cancelled, timed out, continued as new. */
  | (At & { type: "closed"; status: string; message: string });

export interface DecodedHistory {
  workflowId: string;
  /** The (last) run. */
  runId: string;
  /** Every run of the deployment, first to last, when it continued as new (chain.ts joined them). */
  runIds?: string[];
  events: HistoryEvent[];
}
