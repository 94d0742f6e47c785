/**
 * The events a deployment notifies about, in the order a deployment usually
 * meets them. A sink's `events` filter names them; the payload's `event` is
 * one of them. Pure: the config schema and the workflow both import it.
 */
export const NOTIFICATION_EVENTS = [
  "started",
  "drift-detected",
  "phase-changed",
  "step-reached",
  "analysis-verdict",
  "approval-requested",
  "approved",
  "rejected",
  "paused",
  "resumed",
  "rolled-back",
  "needs-attention",
  "promoted",
  "finished",
] as const;

export type NotificationEvent = (typeof NOTIFICATION_EVENTS)[number];

/**
 * How long a deployment that has ended waits for its notifications to go out
 * before its workflow closes (the next deployment of the service and
 * environment can start only then).
 */
export const NOTIFICATION_DRAIN_MS = 2 * 60_000;

/**
 * What the worker's log (the always-on sink) prints: the events a person
 * reading the log acts on, not every phase change and every verdict, which
 * would also cost history events for each deployment.
 */
export const LOG_EVENTS: readonly NotificationEvent[] = [
  "started",
  "drift-detected",
  "step-reached",
  "approval-requested",
  "approved",
  "rejected",
  "paused",
  "resumed",
  "rolled-back",
  "needs-attention",
  "promoted",
  "finished",
];
