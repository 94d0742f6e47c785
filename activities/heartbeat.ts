import { Context } from "@temporalio/activity";

/**
 * Runs a long side effect while heartbeating every `everyMs` with the latest
 * progress line. Long operations (a Pulumi create that waits for health
 * checks) can go quiet for a while; the periodic beat keeps the heartbeat
 * timeout meaningful — it fires when the worker dies, not when the work is slow.
 *
 * Cancellation (delivered through heartbeats): the work's `signal` is
 * aborted, and the activity ends only once the work has stopped. Returning
 * earlier would let it run on behind the rollback that undoes it: a
 * `pulumi up` still creating instances after `destroyGreen` ran leaves them
 * behind. The workflow waits for this (WAIT_CANCELLATION_COMPLETED).
 */
export async function withHeartbeat<T>(
  work: (progress: (message: string) => void, signal: AbortSignal) => Promise<T>,
  everyMs = 1000,
  stopGraceMs = STOP_GRACE_MS,
): Promise<T> {
  const ctx = Context.current();
  let latest = "started";
  ctx.heartbeat({ progress: latest });
  const timer = setInterval(() => ctx.heartbeat({ progress: latest }), everyMs);
  const abort = new AbortController();
  const running = work((message) => {
    latest = message;
  }, abort.signal);
  try {
    return await Promise.race([running, ctx.cancelled]);
  } catch (err) {
    if (!abort.signal.aborted && isCancelled(ctx)) {
      abort.abort(err);
      latest = "cancelled: stopping";
      await settledWithin(running, stopGraceMs);
    }
    throw err;
  } finally {
    clearInterval(timer);
  }
}

/** How long a cancelled activity waits for its work to stop (Pulumi finishing the resource it is on). */
export const STOP_GRACE_MS = 5 * 60_000;

function isCancelled(ctx: Context): boolean {
  return ctx.cancellationSignal.aborted;
}

async function settledWithin(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    p.then(
      () => undefined,
      () => undefined,
    ),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}
