/**
 * Keeps the worker process serving through a Temporal outage. The SDK's
 * Worker already retries its polls while the server is unreachable; what it
 * cannot survive is a server that is not reachable when it connects (a worker
 * started, or restarted by its supervisor, while Temporal restarts) and a
 * fatal error that ends its run. Neither is a reason for the process to end:
 * connect again, with backoff, and run a new Worker. Only SIGINT/SIGTERM (the
 * SDK's shutdown, which makes `run()` resolve) or an error that retrying
 * cannot fix (a bad TLS or API-key setting, a missing namespace) ends it.
 */

export interface RunningWorker {
  run(): Promise<void>;
  /** The SDK Worker's state after `run()`: FAILED means it ended on an error, not on a shutdown. */
  getState(): string;
}

export interface KeepRunningOptions<W extends RunningWorker> {
  /** Connects and creates a Worker; `close` releases its connection. */
  start(): Promise<{ worker: W; close(): Promise<void> }>;
  /** Called each time a Worker is about to run (the first time and after every reconnection). */
  onRunning?(worker: W, attempt: number): void;
  log(line: string): void;
  /** Delay before the nth consecutive retry (default: 1 s doubling to 30 s). */
  backoffMs?(n: number): number;
  /** Signals that end the waiting between attempts (default SIGINT, SIGTERM). */
  signals?: NodeJS.Signals[];
}

const defaultBackoff = (n: number) => Math.min(30_000, 1000 * 2 ** Math.max(0, n - 1));

/** A connection refused, reset or timed out, or a name that does not resolve yet: the server may come. */
export function isServerUnreachable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const text = `${err.name} ${err.message}`;
  return /ConnectError|tcp connect error|Connection refused|Connection reset|dns error|timed out|Unavailable|UNAVAILABLE/i.test(
    text,
  );
}

const describe = (err: unknown) =>
  (err instanceof Error ? err.message : String(err)).split("\n")[0]?.slice(0, 300);

export async function keepRunning<W extends RunningWorker>(o: KeepRunningOptions<W>): Promise<void> {
  const backoff = o.backoffMs ?? defaultBackoff;
  let stopping = false;
  let wake: (() => void) | undefined;
  const onSignal = () => {
    stopping = true;
    wake?.();
  };
  const signals = o.signals ?? ["SIGINT", "SIGTERM"];
  for (const s of signals) process.on(s, onSignal);
  const wait = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  try {
    let failures = 0;
    for (let attempt = 1; !stopping; attempt++) {
      let started: Awaited<ReturnType<typeof o.start>>;
      try {
        started = await o.start();
      } catch (err) {
        if (!isServerUnreachable(err)) throw err;
        const delay = backoff(++failures);
        o.log(
          `worker ${process.pid}: Temporal unreachable (${describe(err)}); connecting again in ${delay / 1000} s`,
        );
        await wait(delay);
        continue;
      }
      if (stopping) {
        // Asked to stop while connecting (before the SDK listened for the signal itself).
        await started.close().catch(() => undefined);
        return;
      }
      const since = Date.now();
      try {
        o.onRunning?.(started.worker, attempt);
        await started.worker.run();
        return; // shut down on a signal
      } catch (err) {
        if (stopping || started.worker.getState() !== "FAILED") throw err;
        // A worker that served a while before failing starts the backoff over.
        if (Date.now() - since > 60_000) failures = 0;
        const delay = backoff(++failures);
        o.log(
          `worker ${process.pid}: the worker failed (${describe(err)}); a new one starts in ${delay / 1000} s`,
        );
        await wait(delay);
      } finally {
        await started.close().catch(() => undefined);
      }
    }
  } finally {
    for (const s of signals) process.off(s, onSignal);
  }
}
