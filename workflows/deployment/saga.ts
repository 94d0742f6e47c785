/**
 * The saga: every completed (or possibly half-done) side effect registers its
 * compensation; on failure, abort or failed analysis they run in reverse order
 * with TRAFFIC FIRST (users go back to blue before anything else is touched),
 * inside CancellationScope.nonCancellable (a workflow cancel cannot stop a
 * rollback).
 *
 * Retry policy: a compensation never gives up. Each attempt is one activity
 * execution (maximumAttempts 1, so every failure is visible in the status);
 * the workflow retries it with exponential backoff (1s → 60s cap) — except
 * after an attempt whose worker died (its heartbeat timed out): that says
 * nothing about the step, so it is retried at once on another worker. Once a
 * compensation has been failing for longer than the environment's
 * `compensationAttentionAfter`, the deployment enters phase `needs-attention`
 * (search attribute + details + notification) and keeps retrying. An operator
 * can `retryCompensation` (retry now, skipping the backoff wait) or
 * `skipCompensation` (cancel the attempt, mark it skipped, go on); both are
 * recorded with who and why.
 */
import {
  ActivityFailure,
  CancellationScope,
  condition,
  isCancellation,
  patched,
  TimeoutFailure,
} from "@temporalio/workflow";
import type { CompensationRecord } from "../../lib/deployment/types";
import { clip } from "./state";

export interface SagaEntry {
  name: string;
  kind: CompensationRecord["kind"];
  run: () => Promise<unknown>;
}

export interface ReliableControls {
  /** Set by the retryCompensation update. */
  retryNow: boolean;
  /** Set by the skipCompensation update. */
  skip: { by: string; reason: string } | null;
  /** The attempt in flight, so skip can cancel it. */
  scope: CancellationScope | null;
}

export interface ReliableHooks {
  now(): number;
  attentionAfterMs: number;
  controls: ReliableControls;
  /** Called once when the step has been failing longer than attentionAfterMs. */
  onAttention(record: CompensationRecord, sinceMs: number): Promise<void> | void;
  /** Called when the step ends (done or skipped) after having needed attention. */
  onAttentionCleared(record: CompensationRecord): void;
  changed(): void;
}

/** A fresh record for a compensation or finalize step that has not run yet. */
export function newCompensationRecord(entry: Pick<SagaEntry, "name" | "kind">): CompensationRecord {
  return {
    name: entry.name,
    kind: entry.kind,
    status: "registered",
    attempts: 0,
    lastError: null,
    startedAtMs: null,
    endedAtMs: null,
  };
}

export const INITIAL_BACKOFF_MS = 1_000;
export const MAX_BACKOFF_MS = 60_000;

export class Saga {
  private readonly entries: Array<SagaEntry & { record: CompensationRecord }> = [];

  constructor(private readonly log: CompensationRecord[]) {}

  /** Registers a compensation; registered BEFORE its forward call when a half-done call must be undone too. */
  register(entry: SagaEntry): void {
    const record = newCompensationRecord(entry);
    this.log.push(record);
    this.entries.push({ ...entry, record });
  }

  /**
   * Puts back a compensation registered by an earlier run of the chain
   * (continuation.ts), with its record as that run left it (already in the log).
   */
  restore(entry: SagaEntry, record: CompensationRecord): void {
    this.entries.push({ ...entry, record });
  }

  /** The registered compensations' names, in registration order. */
  names(): string[] {
    return this.entries.map((e) => e.name);
  }

  get size(): number {
    return this.entries.length;
  }

  /** Compensation order: traffic entries first (latest first), then the rest in reverse registration order. */
  order(): Array<SagaEntry & { record: CompensationRecord }> {
    const reversed = [...this.entries].reverse();
    return [...reversed.filter((e) => e.kind === "traffic"), ...reversed.filter((e) => e.kind !== "traffic")];
  }

  /** Point of no return (promotion finalised): nothing left to undo. */
  clear(): void {
    this.entries.length = 0;
  }

  /** Runs every compensation, non-cancellably, in order. */
  async compensate(hooks: ReliableHooks): Promise<CompensationRecord[]> {
    const ran: CompensationRecord[] = [];
    await CancellationScope.nonCancellable(async () => {
      for (const e of this.order()) {
        await runReliably(e.record, e.run, hooks);
        ran.push(e.record);
      }
    });
    this.clear();
    return ran;
  }
}

/** Runs one step until it succeeds or an operator skips it (see module comment). */
export async function runReliably(
  record: CompensationRecord,
  run: () => Promise<unknown>,
  hooks: ReliableHooks,
): Promise<"done" | "skipped"> {
  const ctl = hooks.controls;
  const started = hooks.now();
  record.startedAtMs = started;
  let backoff = INITIAL_BACKOFF_MS;
  let attention = false;
  /** The previous attempt was retried at once after its worker died. */
  let retriedAtOnce = false;
  /** Whether an operator skipped the step (skipCompensation update) while it ran or waited. */
  const skipRequested = (): boolean => {
    if (!ctl.skip) return false;
    record.skippedBy = ctl.skip.by;
    return true;
  };
  const finish = (status: "done" | "skipped") => {
    record.status = status;
    record.endedAtMs = hooks.now();
    ctl.scope = null;
    ctl.skip = null;
    ctl.retryNow = false;
    if (attention) hooks.onAttentionCleared(record);
    hooks.changed();
    return status;
  };
  for (;;) {
    record.attempts++;
    record.status = "running";
    ctl.retryNow = false;
    const scope = new CancellationScope();
    ctl.scope = scope;
    hooks.changed();
    try {
      await scope.run(run);
      return finish("done");
    } catch (err) {
      if (skipRequested()) return finish("skipped");
      if (isCancellation(err) && !scope.consideredCancelled) throw err;
      record.lastError = clip(errorText(err));
      record.status = "retrying";
      ctl.scope = null;
      if (!attention && hooks.now() - started >= hooks.attentionAfterMs) {
        attention = true;
        await hooks.onAttention(record, started);
      }
      hooks.changed();
      // The worker died mid-step: no reason to wait before another worker tries.
      // Once in a row only: a step that keeps going silent (hung, not killed)
      // backs off like any failure instead of filling the history every 5 s.
      const lost = workerLost(err);
      if (lost && !retriedAtOnce && patched(RETRY_AT_ONCE_AFTER_WORKER_LOSS)) {
        retriedAtOnce = true;
        continue;
      }
      if (!lost) retriedAtOnce = false;
      const untilAttention = attention
        ? backoff
        : Math.max(0, started + hooks.attentionAfterMs - hooks.now());
      await condition(
        () => ctl.retryNow || ctl.skip !== null,
        Math.max(1, Math.min(backoff, untilAttention || backoff)),
      );
      if (skipRequested()) return finish("skipped");
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    }
  }
}

export const RETRY_AT_ONCE_AFTER_WORKER_LOSS = "compensation-retry-at-once-after-worker-loss";

/** An attempt that ended because its worker stopped heartbeating (killed, partitioned), not because the step failed. */
export function workerLost(err: unknown): boolean {
  return (
    err instanceof ActivityFailure &&
    err.cause instanceof TimeoutFailure &&
    err.cause.timeoutType === "HEARTBEAT"
  );
}

/** The innermost message of an ActivityFailure chain. */
export function errorText(err: unknown): string {
  let e: unknown = err;
  let text = "";
  for (let i = 0; i < 5 && e; i++) {
    if (e instanceof Error) {
      text = e.message;
      e = (e as Error & { cause?: unknown }).cause;
    } else {
      text = String(e);
      break;
    }
  }
  return text || "unknown error";
}
