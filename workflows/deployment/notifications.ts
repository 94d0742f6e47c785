/**
 * Notifications without ever holding a deployment up. `emit` appends the
 * event to an outbox in workflow state and returns at once; one delivery lane
 * per sink (the worker log, then the environment's `notifications` in config
 * order) takes its events in sequence order and sends each with one activity
 * (`deliverNotification`), which Temporal retries with backoff. The forward
 * path and the rollback never wait for a lane, so a receiver that is down or
 * hangs cannot keep traffic on a bad version.
 *
 * - At-least-once: an event leaves a lane only when its activity completed or
 *   gave up (non-retryable, or out of attempts: logged as a warning). The
 *   payload's `id` (`<deploymentId>:<sequence>`) is the same on every attempt,
 *   so a receiver de-duplicates.
 * - Ordered per deployment and sink: a lane sends one event at a time.
 * - Bounded: a lane holds at most MAX_PENDING events; past it the oldest
 *   waiting one is dropped (a gap in `sequence`), with a warning.
 * - End of the deployment: after the outcome is set (traffic already back on
 *   blue, or promoted) the run waits at most NOTIFICATION_DRAIN_MS for the lanes to empty,
 *   then ends; what is still undelivered is dropped with a warning.
 * - Continue-as-new (long bakes): the lanes are frozen (no delivery starts in
 *   the same workflow task as the continue-as-new), and the undelivered
 *   events, the one in flight included, go to the next run, which sends them
 *   first (the one in flight may then arrive twice: same `id`).
 *
 * Runs recorded before the outbox (patch "notifications-outbox") called the
 * old inline `notify` activity, awaited; they replay that way (run.ts).
 */
import { CancellationScope, condition, log } from "@temporalio/workflow";
import type { NotificationSink } from "../../lib/config/notifications-schema";
import type { ActivityKey } from "../../lib/deployment/types";
import { LOG_EVENTS, NOTIFICATION_DRAIN_MS } from "../../lib/notifications/events";
import type { Notification } from "../../lib/notifications/payload";
import { call, notificationOptions } from "./activities";
import { errorText } from "./saga";

/** Events waiting per sink; the oldest waiting is dropped past it. */
export const MAX_PENDING = 100;

/** The worker log (the always-on sink): lane -1. */
export const LOG_SINK = -1;

/** What a continued run takes over: the next sequence number and every undelivered event, by sink. */
export interface CarriedNotifications {
  nextSequence: number;
  pending: Array<{ sink: number; payload: Notification }>;
}

interface Lane {
  /** Index into the environment's `notifications`, or LOG_SINK. */
  sink: number;
  events: ReadonlySet<string>;
  /** The head is the event being delivered. */
  queue: Notification[];
}

export class Notifications {
  private sequence: number;
  private readonly lanes: Lane[];
  private started = false;
  /** Set when the run continues as new: lanes start nothing more (the next run sends what is left). */
  private frozen = false;

  constructor(
    private readonly key: ActivityKey,
    private readonly sinks: readonly NotificationSink[],
    carried: CarriedNotifications | null,
  ) {
    this.sequence = carried?.nextSequence ?? 1;
    this.lanes = [
      { sink: LOG_SINK, events: new Set(LOG_EVENTS), queue: [] },
      ...sinks.map((s, i) => ({ sink: i, events: new Set<string>(s.events), queue: [] })),
    ];
    for (const p of carried?.pending ?? []) this.lanes.find((l) => l.sink === p.sink)?.queue.push(p.payload);
  }

  /** The sequence number the next event gets. */
  next(): number {
    return this.sequence++;
  }

  /** Queues the event on every sink that wants it; returns at once. */
  emit(payload: Notification): void {
    for (const lane of this.lanes) {
      if (!lane.events.has(payload.event)) continue;
      lane.queue.push(payload);
      if (lane.queue.length > MAX_PENDING) {
        // Never the head: it may be in flight.
        const [dropped] = lane.queue.splice(1, 1);
        log.warn("notification dropped: too many undelivered", { sink: lane.sink, id: dropped?.id });
      }
    }
  }

  /** Starts the lanes, once per run, outside every cancellable scope (a cancelled workflow still notifies). */
  start(): void {
    if (this.started) return;
    this.started = true;
    for (const lane of this.lanes) {
      void CancellationScope.nonCancellable(() => this.runLane(lane));
    }
  }

  idle(): boolean {
    return this.lanes.every((l) => l.queue.length === 0);
  }

  /** After the outcome: waits up to NOTIFICATION_DRAIN_MS for every lane to empty; never throws. */
  async drain(ms = NOTIFICATION_DRAIN_MS): Promise<void> {
    if (this.idle()) return;
    const done = await CancellationScope.nonCancellable(() => condition(() => this.idle(), ms));
    if (!done) {
      const left = this.lanes
        .filter((l) => l.queue.length > 0)
        .map((l) => `${sinkName(l.sink)}: ${l.queue.length}`);
      log.warn("deployment ended with undelivered notifications (dropped)", { undelivered: left.join(", ") });
    }
  }

  /** Before continuing as new: no lane starts another delivery in this run. */
  freeze(): void {
    this.frozen = true;
  }

  /** The state a continued run takes over (continuation.ts). */
  carry(): CarriedNotifications {
    return {
      nextSequence: this.sequence,
      pending: this.lanes.flatMap((l) => l.queue.map((payload) => ({ sink: l.sink, payload }))),
    };
  }

  private async runLane(lane: Lane): Promise<void> {
    const sink = lane.sink === LOG_SINK ? ({ type: "log" } as const) : this.sinks[lane.sink];
    if (!sink) return;
    for (;;) {
      await condition(() => lane.queue.length > 0 && !this.frozen);
      const payload = lane.queue[0]!;
      try {
        await call(
          "deliverNotification",
          notificationOptions(sink.type === "log" ? 5_000 : sink.timeout),
          `notify ${payload.event} #${payload.sequence} → ${sinkName(lane.sink, sink.type)}`,
          { key: this.key, sinkIndex: lane.sink, sink, payload },
        );
      } catch (err) {
        log.warn("notification not delivered (gave up)", {
          sink: sinkName(lane.sink, sink.type),
          id: payload.id,
          error: errorText(err),
        });
      }
      lane.queue.shift();
    }
  }
}

function sinkName(index: number, type?: string): string {
  return index === LOG_SINK ? "log" : `notifications[${index}]${type ? ` (${type})` : ""}`;
}
