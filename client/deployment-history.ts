/**
 * A deployment's history, fetched and decoded for the report
 * (lib/report/history-events.ts): payloads go through the client's payload
 * codec (they are AES-GCM encrypted in Temporal) and payload converter, and
 * failures through its failure converter (their messages are encrypted too).
 * Only the events the report reads are kept.
 */
import type { Client } from "@temporalio/client";
import { ApplicationFailure, type LoadedDataConverter } from "@temporalio/common";
import {
  decodeArrayFromPayloads,
  decodeOptionalFailureToOptionalError,
} from "@temporalio/common/lib/internal-non-workflow";
import { temporal } from "@temporalio/proto";
import { FAILURE_TYPES } from "../lib/deployment/types";
import { continuedFrom, joinRuns } from "../lib/report/chain";
import type { DecodedHistory, HistoryEvent } from "../lib/report/history-events";

type IHistory = temporal.api.history.v1.IHistory;
type IPayloads = temporal.api.common.v1.IPayloads | null | undefined;
type IFailure = temporal.api.failure.v1.IFailure | null | undefined;

const { EventType } = temporal.api.enums.v1;

const ms = (t: { seconds?: unknown; nanos?: number | null } | null | undefined): number =>
  t ? Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6) : 0;

async function values(converter: LoadedDataConverter, p: IPayloads): Promise<unknown[]> {
  return p?.payloads?.length ? decodeArrayFromPayloads(converter, p.payloads) : [];
}

async function first(converter: LoadedDataConverter, p: IPayloads): Promise<unknown> {
  return (await values(converter, p))[0];
}

async function failureText(converter: LoadedDataConverter, f: IFailure, fallback: string): Promise<string> {
  try {
    const err = await decodeOptionalFailureToOptionalError(converter, f ?? undefined);
    const cause = (err as { cause?: unknown } | undefined)?.cause;
    const causeText = cause instanceof Error && cause.message ? `: ${cause.message}` : "";
    return err ? `${err.message}${causeText}` : fallback;
  } catch {
    return f?.message ?? fallback;
  }
}

/** The DeploymentResult a DeploymentRolledBack failure carries (client/deployment-result.ts), if it is one. */
async function rolledBackDetail(converter: LoadedDataConverter, f: IFailure): Promise<unknown> {
  try {
    const err = await decodeOptionalFailureToOptionalError(converter, f ?? undefined);
    if (err instanceof ApplicationFailure && err.type === FAILURE_TYPES.rolledBack) return err.details?.[0];
  } catch {
    // not decodable here: reported as a failure with its message
  }
  return undefined;
}

/** Search attributes are not codec-encoded: the payload converter alone reads them. */
function searchAttributes(
  converter: LoadedDataConverter,
  fields: Record<string, temporal.api.common.v1.IPayload> | null | undefined,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, p] of Object.entries(fields ?? {})) {
    try {
      const v = converter.payloadConverter.fromPayload(p);
      out[k] = Array.isArray(v) ? v[0] : v;
    } catch {
      // an attribute this converter cannot read is not one the report uses
    }
  }
  return out;
}

/** One history event as the report sees it, or null for events it does not read. */
async function decodeEvent(
  converter: LoadedDataConverter,
  e: temporal.api.history.v1.IHistoryEvent,
): Promise<HistoryEvent | null> {
  const at = { id: Number(e.eventId ?? 0), atMs: ms(e.eventTime) };
  switch (e.eventType) {
    case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED: {
      const a = e.workflowExecutionStartedEventAttributes;
      return {
        ...at,
        type: "started",
        input: await first(converter, a?.input),
        ...(a?.continuedExecutionRunId ? { continuedFrom: a.continuedExecutionRunId } : {}),
      };
    }
    case EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
      return { ...at, type: "task-started" };
    case EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: {
      const a = e.activityTaskScheduledEventAttributes;
      return {
        ...at,
        type: "activity-scheduled",
        activity: a?.activityType?.name ?? "?",
        input: await first(converter, a?.input),
      };
    }
    case EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED: {
      const a = e.activityTaskStartedEventAttributes;
      return {
        ...at,
        type: "activity-started",
        scheduledId: Number(a?.scheduledEventId ?? 0),
        attempt: a?.attempt ?? 1,
      };
    }
    case EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: {
      const a = e.activityTaskCompletedEventAttributes;
      return {
        ...at,
        type: "activity-completed",
        scheduledId: Number(a?.scheduledEventId ?? 0),
        result: await first(converter, a?.result),
      };
    }
    case EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED:
    case EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
    case EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED: {
      const a =
        e.activityTaskFailedEventAttributes ??
        e.activityTaskTimedOutEventAttributes ??
        e.activityTaskCanceledEventAttributes;
      const failure =
        e.activityTaskFailedEventAttributes?.failure ?? e.activityTaskTimedOutEventAttributes?.failure;
      const fallback = e.activityTaskCanceledEventAttributes ? "cancelled" : "failed";
      return {
        ...at,
        type: "activity-failed",
        scheduledId: Number(a?.scheduledEventId ?? 0),
        message: await failureText(converter, failure, fallback),
      };
    }
    case EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
      return {
        ...at,
        type: "search-attributes",
        fields: searchAttributes(
          converter,
          e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields,
        ),
      };
    case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED: {
      const a = e.workflowExecutionUpdateAcceptedEventAttributes;
      return {
        ...at,
        type: "update-accepted",
        updateId: a?.acceptedRequest?.meta?.updateId ?? a?.protocolInstanceId ?? "",
        name: a?.acceptedRequest?.input?.name ?? "?",
        args: await values(converter, a?.acceptedRequest?.input?.args),
      };
    }
    case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED: {
      const a = e.workflowExecutionUpdateCompletedEventAttributes;
      return {
        ...at,
        type: "update-completed",
        updateId: a?.meta?.updateId ?? "",
        result: a?.outcome?.success ? await first(converter, a.outcome.success) : undefined,
      };
    }
    case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED: {
      const a = e.workflowExecutionSignaledEventAttributes;
      return { ...at, type: "signal", name: a?.signalName ?? "?", args: await values(converter, a?.input) };
    }
    case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
      return {
        ...at,
        type: "completed",
        result: await first(converter, e.workflowExecutionCompletedEventAttributes?.result),
      };
    case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED: {
      // A rolled-back deployment fails on purpose, its result as the failure's detail: read it as the result.
      const result = await rolledBackDetail(converter, e.workflowExecutionFailedEventAttributes?.failure);
      if (result !== undefined) return { ...at, type: "completed", result };
      return {
        ...at,
        type: "closed",
        status: "failed",
        message: await failureText(converter, e.workflowExecutionFailedEventAttributes?.failure, "failed"),
      };
    }
    case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
      return {
        ...at,
        type: "closed",
        status: "terminated",
        message: e.workflowExecutionTerminatedEventAttributes?.reason ?? "terminated",
      };
    case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED:
      return { ...at, type: "closed", status: "cancelled", message: "cancelled" };
    case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT:
      return { ...at, type: "closed", status: "timed-out", message: "timed out" };
    case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
      return { ...at, type: "closed", status: "continued-as-new", message: "continued as new" };
    default:
      return null;
  }
}

/** Decodes a history (as fetched, or read back from JSON with History.fromObject). */
export async function decodeHistory(
  history: IHistory,
  converter: LoadedDataConverter,
  ids: { workflowId: string; runId: string },
): Promise<DecodedHistory> {
  const events: HistoryEvent[] = [];
  for (const e of history.events ?? []) {
    const d = await decodeEvent(converter, e);
    if (d) events.push(d);
  }
  return { ...ids, events };
}

/** Fetches one run's history (the latest run without `runId`) and decodes it with the client's converter. */
export async function fetchDecodedHistory(
  client: Client,
  workflowId: string,
  runId?: string,
): Promise<DecodedHistory> {
  const handle = client.workflow.getHandle(workflowId, runId);
  const resolvedRunId = runId ?? (await handle.describe()).runId;
  const history = await client.workflow.getHandle(workflowId, resolvedRunId).fetchHistory();
  return decodeHistory(history, client.options.loadedDataConverter, { workflowId, runId: resolvedRunId });
}

/** How far back a chain is followed: a week's watch at a 10 s interval is ~170 runs. */
const MAX_RUNS = 1_000;

/**
 * A deployment's whole history: the run (the latest without `runId`) and the
 * runs it continued from, joined (lib/report/chain.ts). A deployment that
 * never continued as new is its one run.
 */
export async function fetchDecodedDeployment(
  client: Client,
  workflowId: string,
  runId?: string,
): Promise<DecodedHistory> {
  const runs = [await fetchDecodedHistory(client, workflowId, runId)];
  for (let from = continuedFrom(runs[0]!); from && runs.length < MAX_RUNS; from = continuedFrom(runs[0]!)) {
    runs.unshift(await fetchDecodedHistory(client, workflowId, from));
  }
  return joinRuns(runs);
}
