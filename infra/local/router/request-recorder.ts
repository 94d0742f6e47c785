import {
  isAbnormal,
  outcomeOf,
  parseRequestLine,
  type RequestLogEntry,
  upstreamFailures,
} from "./request-log";
import type { BackendName, RoutingTable } from "./routing-table";
import type { RouterStats } from "./stats";

// What the control process does with each line of HAProxy's request log:
// the request is counted for the release that served it, in the second it
// ended, and an abnormal one is logged for the operator.

export interface RequestRecorderDeps {
  stats: RouterStats;
  table(): RoutingTable;
  /**
   * The release a server of a backend serves: null while HAProxy is not up
   * yet (the line is dropped), undefined for a server the data plane does not
   * know (the backend's release in the table is assumed).
   */
  versionOf(backend: string, server: string): string | undefined | null;
  abnormal(e: RequestLogEntry): void;
  now?: () => number;
}

/** The request log's line handler (see startLogSink). */
export function requestRecorder(d: RequestRecorderDeps): (line: string) => void {
  const now = d.now ?? Date.now;
  return (line) => {
    const e = parseRequestLine(line);
    if (!e) return; // HAProxy's own events also reach its stderr (the router log)
    const served = d.versionOf(e.backend, e.server);
    if (served === null) return; // no data plane yet
    if (isAbnormal(e)) d.abnormal(e);
    // In the second the request ended (the line says), not the one it was read in.
    const t = now();
    const at = Math.min(t, e.endedAtMs ?? t);
    const outcome = outcomeOf(e);
    if (outcome === "unrouted") return d.stats.unrouted(at);
    const current = d.table().backends[e.backend as BackendName];
    const version = served ?? current?.version;
    // A request another release served, finishing after the switch: not this version's numbers.
    if (!current || version !== current.version) return;
    const series = d.stats.for(e.backend, version);
    for (let i = upstreamFailures(e); i > 0; i--) series.upstreamFailure(at);
    series.record(outcome, at);
  };
}

/**
 * Logs requests that ended abnormally (a 5xx, a closed or timed-out
 * connection) with HAProxy's termination state and the client's port, at most
 * ABNORMAL_PER_SECOND a second (then a count of the rest): what an operator
 * needs to explain a user's failed request, without a log line per request.
 */
const ABNORMAL_PER_SECOND = 20;
export function abnormalRequestLog(log: (e: Record<string, unknown>) => void) {
  let second = 0;
  let logged = 0;
  let suppressed = 0;
  return (e: RequestLogEntry) => {
    const now = Math.floor(Date.now() / 1000);
    if (now !== second) {
      if (suppressed > 0) log({ event: "requests-abnormal-suppressed", count: suppressed });
      second = now;
      logged = 0;
      suppressed = 0;
    }
    if (logged++ >= ABNORMAL_PER_SECOND) {
      suppressed++;
      return;
    }
    log({ event: "request-abnormal", ...e });
  };
}
