/**
 * The shop's users during a chaos campaign: the load generator runs in this
 * process for the whole campaign and every answer lands on a timeline, so
 * each error can be attributed to the fault window it fell in and to the
 * version (or the router) that produced it. Orders confirmed to a user are
 * kept to prove afterwards that none was lost.
 */
import { generateLoad, type LoadEvent, type LoadReport } from "../load/generate-load";

/**
 * What went wrong for the user, by who is to blame:
 *  - dead-backend: the router picked an instance that did not answer (its
 *    own 502/503/504 `backend_unreachable` / `backend_timeout`, no shop
 *    version on it) or the connection to the router itself failed — the
 *    failure the deployment machinery must never cause;
 *  - no-backend: the router had no healthy instance at all (503);
 *  - app: the shop answered 5xx itself (a bad version, or its database is down).
 */
export type ErrorClass = "dead-backend" | "no-backend" | "app";

export interface TimelineEntry {
  at: number;
  ok: boolean;
  errorClass: ErrorClass | null;
  /** The shop version that answered (`x-shop-version`), null when the router answered itself or nobody did. */
  version: string | null;
  /** HTTP status, or "network" (kept for the run's probe log). */
  status?: number | "network";
  /** The router's backend (blue/green) and the instance's port, when the shop answered. */
  backend?: string | null;
  instance?: string | null;
  kind?: string;
  /** No answer: a client timeout or the connection error's code (a dead backend and a stalled one look alike otherwise). */
  error?: string;
  /** How a failed connection ended (see LoadEvent.failure), for the probe log. */
  failure?: LoadEvent["failure"];
  /** The request was a GET sent again after its connection closed without an answer (that first failure's code). */
  retriedAfter?: string;
}

export interface ConfirmedOrder {
  id: number;
  version: string;
  at: number;
}

export function classify(e: LoadEvent): ErrorClass | null {
  if (e.status === "network") return "dead-backend";
  if (e.status < 500) return null;
  const body = e.body as { error?: unknown } | null;
  if (e.status === 503 && body?.error === "no_healthy_backend") return "no-backend";
  // The router's own answers carry no shop version: it could not reach, or hear back from, an instance.
  if (e.version === null && (e.status === 502 || e.status === 503 || e.status === 504)) return "dead-backend";
  return "app";
}

export interface TrafficLog {
  readonly timeline: TimelineEntry[];
  readonly orders: ConfirmedOrder[];
  /** Error rate of the answers `version` gave within the last `windowMs` (null: no answer in the window). */
  errorRate(version: string, windowMs: number): { rate: number | null; requests: number };
  /** Entries in [from, to). */
  between(from: number, to: number): TimelineEntry[];
  /** First successful answer at or after `at` (ms since epoch), or null. */
  firstSuccessAfter(at: number): number | null;
  stop(): Promise<LoadReport>;
}

export function startTraffic(options: {
  url: string;
  rps: number;
  concurrency: number;
  random: () => number;
}): TrafficLog {
  const timeline: TimelineEntry[] = [];
  const orders: ConfirmedOrder[] = [];
  const abort = new AbortController();
  const running = generateLoad({
    url: options.url,
    durationMs: 24 * 3600_000,
    maxRequests: Number.MAX_SAFE_INTEGER,
    concurrency: options.concurrency,
    rps: options.rps,
    random: options.random,
    signal: abort.signal,
    timeoutMs: 5000,
    onResponse(e) {
      const errorClass = classify(e);
      timeline.push({
        at: e.at,
        ok: errorClass === null,
        errorClass,
        version: e.version,
        status: e.status,
        backend: e.backend,
        instance: e.instance ?? null,
        kind: e.kind,
        ...(e.error ? { error: e.error } : {}),
        ...(e.failure ? { failure: e.failure } : {}),
        ...(e.retriedAfter ? { retriedAfter: e.retriedAfter } : {}),
      });
      const orderId = (e.body as { orderId?: unknown } | null)?.orderId;
      if (
        e.kind === "checkout" &&
        typeof e.status === "number" &&
        e.status < 300 &&
        typeof orderId === "number"
      ) {
        orders.push({ id: orderId, version: e.version ?? "?", at: e.at });
      }
    },
  });
  /** Index of the first entry at or after `at` (the timeline is in arrival order). */
  const indexAt = (at: number) => {
    let lo = 0;
    let hi = timeline.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((timeline[mid] as TimelineEntry).at < at) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  return {
    timeline,
    orders,
    errorRate(version, windowMs) {
      let requests = 0;
      let errors = 0;
      for (let i = indexAt(Date.now() - windowMs); i < timeline.length; i++) {
        const t = timeline[i] as TimelineEntry;
        if (t.version !== version) continue;
        requests++;
        if (!t.ok) errors++;
      }
      return { rate: requests === 0 ? null : errors / requests, requests };
    },
    between(from, to) {
      return timeline.slice(indexAt(from), indexAt(to));
    },
    firstSuccessAfter(at) {
      for (let i = indexAt(at); i < timeline.length; i++)
        if ((timeline[i] as TimelineEntry).ok) return timeline[i]?.at ?? null;
      return null;
    },
    async stop() {
      abort.abort();
      return running;
    },
  };
}

function failureText(f: NonNullable<TimelineEntry["failure"]>): string {
  const sock =
    f.localPort === undefined ? "" : ` port ${f.localPort} wrote ${f.bytesWritten} read ${f.bytesRead}`;
  return `{after ${f.elapsedMs} ms${sock}}`;
}

/** One line of a run's probe log: every request the users made, as they saw it (kept in the run's report folder). */
export function probeLogLine(e: TimelineEntry): string {
  return [
    new Date(e.at).toISOString(),
    e.kind ?? "-",
    String(e.status ?? "-"),
    e.errorClass ?? "ok",
    e.version ?? "-",
    e.backend ?? "-",
    e.instance ?? "-",
    ...(e.error ? [`(${e.error})`] : []),
    ...(e.failure ? [failureText(e.failure)] : []),
    ...(e.retriedAfter ? [`[retried after ${e.retriedAfter}]`] : []),
  ].join(" ");
}
