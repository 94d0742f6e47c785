/**
 * How the workflow calls activities: one set of options per kind of call, and
 * `call`, which gives every call a summary for the Web UI.
 */
import { ActivityCancellationType, proxyActivities } from "@temporalio/workflow";
import type { Activities } from "../../activities";
import { FAILURE_TYPES } from "../../lib/deployment/types";
import { NOTIFICATION_REFUSED } from "../../lib/notifications/delivery";

type Opts = Parameters<typeof proxyActivities>[0];

const FORWARD_RETRY = {
  initialInterval: "1 second",
  backoffCoefficient: 2,
  maximumInterval: "30 seconds",
  maximumAttempts: 5,
  nonRetryableErrorTypes: Object.values(FAILURE_TYPES),
} as const;

/**
 * Long activities heartbeat every 1 s (activities/heartbeat.ts) and the worker
 * sends each at once (maxHeartbeatThrottleInterval, workers/create-worker.ts);
 * 5 s without one means the worker is gone, and the attempt is retried on
 * another worker: four missed beats, so a busy machine does not time out a
 * live one. (Was 30 s, 10 s, then 6 s: a killed worker's activity waited that out.)
 * Changing timeouts changes no command, so replays of older runs are unaffected.
 */
const HEARTBEAT_LONG = "5 seconds";
/** Quick calls and measurements do not heartbeat: the timeout only ends an attempt whose worker died. */
const HEARTBEAT = "10 seconds";

export const OPTS = {
  preflight: { startToCloseTimeout: "5 minutes", heartbeatTimeout: HEARTBEAT_LONG, retry: FORWARD_RETRY },
  // Long side effects: on abort, wait until the activity has acknowledged the
  // cancellation, so the compensation never races the step it undoes.
  long: {
    startToCloseTimeout: "30 minutes",
    heartbeatTimeout: HEARTBEAT_LONG,
    retry: FORWARD_RETRY,
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  },
  // Quick calls do not heartbeat; the timeout still ends an attempt whose worker died
  // after 10 s instead of waiting out startToClose.
  quick: { startToCloseTimeout: "2 minutes", heartbeatTimeout: HEARTBEAT, retry: FORWARD_RETRY },
  measure: {
    startToCloseTimeout: "1 minute",
    heartbeatTimeout: HEARTBEAT,
    retry: { ...FORWARD_RETRY, maximumAttempts: 3 },
  },
  // Watching critical metrics within an interval (watch.ts): heartbeats every poll, ends with
  // the interval; cancelled (and waited for) only on a promote; a failed watch leaves the
  // interval to its timer.
  watch: {
    startToCloseTimeout: "1 day",
    heartbeatTimeout: HEARTBEAT_LONG,
    retry: { maximumAttempts: 1 },
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  },
  notify: { startToCloseTimeout: "30 seconds", retry: { initialInterval: "1 second", maximumAttempts: 3 } },
  // One attempt per activity execution: saga.ts retries forever and shows every failure.
  reliable: {
    startToCloseTimeout: "30 minutes",
    heartbeatTimeout: HEARTBEAT_LONG,
    retry: { maximumAttempts: 1 },
  },
} satisfies Record<string, Opts>;

/**
 * Delivering one notification to one sink (notifications.ts): an attempt
 * lasts the sink's timeout plus a margin; Temporal retries it with backoff
 * (1 s → 1 min) for up to 30 minutes, then the lane gives the event up (a
 * warning) and goes on. Nothing waits for it but its lane.
 */
export function notificationOptions(sinkTimeoutMs: number): Opts {
  return {
    // The sink's own deadline ends an attempt; the margin only covers a worker that
    // died mid-attempt, which is why it is short: the lane waits that long.
    startToCloseTimeout: sinkTimeoutMs + 5_000,
    scheduleToCloseTimeout: "30 minutes",
    retry: {
      initialInterval: "1 second",
      backoffCoefficient: 2,
      maximumInterval: "1 minute",
      nonRetryableErrorTypes: [NOTIFICATION_REFUSED],
    },
  };
}

/** An activity call with an explicit summary (shown in the Web UI) and options. */
export function call<K extends keyof Activities>(
  name: K,
  options: Opts,
  summary: string,
  ...args: Parameters<Activities[K]>
): Promise<Awaited<ReturnType<Activities[K]>>> {
  const acts = proxyActivities<Activities>({ ...options, summary }) as unknown as Record<
    string,
    (...a: unknown[]) => Promise<Awaited<ReturnType<Activities[K]>>>
  >;
  return acts[name as string]!(...args);
}
