import { Context } from "@temporalio/activity";

/**
 * Runs a long side effect while heartbeating every `everyMs` with the latest
 * progress line. Long operations (a Pulumi create that waits for health
 * checks) can go quiet for a while; the periodic beat keeps the heartbeat
 * timeout meaningful — it fires when the worker dies, not when the work is slow.
 * Resolves early with the cancellation error when the activity is cancelled.
 */
export async function withHeartbeat<T>(
  work: (progress: (message: string) => void) => Promise<T>,
  everyMs = 1000,
): Promise<T> {
  const ctx = Context.current();
  let latest = "started";
  ctx.heartbeat({ progress: latest });
  const timer = setInterval(() => ctx.heartbeat({ progress: latest }), everyMs);
  try {
    // Honour cancellation (delivered through heartbeats): the workflow's
    // rollback must not wait for a long step it no longer wants. The driver
    // call itself is idempotent, so abandoning it is safe.
    return await Promise.race([
      work((message) => {
        latest = message;
      }),
      ctx.cancelled,
    ]);
  } finally {
    clearInterval(timer);
  }
}
