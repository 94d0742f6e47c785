import { Context } from "@temporalio/activity";

/**
 * Runs a long side effect while heartbeating every `everyMs` with the latest
 * progress line. Long operations (a Pulumi create that waits for health
 * checks) can go quiet for a while; the periodic beat keeps the heartbeat
 * timeout meaningful — it fires when the worker dies, not when the work is slow.
 */
export async function withHeartbeat<T>(
  work: (progress: (message: string) => void) => Promise<T>,
  everyMs = 2000,
): Promise<T> {
  const ctx = Context.current();
  let latest = "started";
  ctx.heartbeat({ progress: latest });
  const timer = setInterval(() => ctx.heartbeat({ progress: latest }), everyMs);
  try {
    return await work((message) => {
      latest = message;
    });
  } finally {
    clearInterval(timer);
  }
}
