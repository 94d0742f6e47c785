import { randomBytes } from "node:crypto";
import http from "node:http";
import net from "node:net";
import { FLUSH_HEADER, FLUSH_LOG_PREFIX, FRONTEND, REQUEST_LOG_PREFIX } from "./haproxy-config";
import type { Outcome } from "./stats";

// The per-request log HAProxy streams to the control process: its `ring`
// forwards every line over one loopback TCP connection (raw format, one line
// per message), so the reader pays one read() for many requests instead of
// one datagram each. Line format (log-format in haproxy-config.ts):
//
//   R <backend> <server> <status> <latency µs> <termination state> <retries> <client port> <end (epoch s)>
//
// Lines not starting with "R " are HAProxy's own events (server up/down…).
//
// The reader takes what gathered every BATCH_MS in one read instead of
// waking up for each line (HAProxy sends one per request). Between batches it
// must stop reading for real: a paused Node socket keeps reading into its own
// buffer, a chunk per line, and a resume hands over only the first chunk — so
// it used to take one line per batch (20 a second) while HAProxy's ring filled
// up behind it. With a highWaterMark of one character a paused socket takes
// at most one more read, and the lines wait in the kernel; at the next batch
// they come in one read. A read that came back large may have left more
// behind: the reader goes on without a pause until it has caught up. A
// statistics read flushes first (see `flush`), so batching never makes a read
// stale, and each line carries the second its request ended (HAProxy's
// clock), so a request lands in its own second of the sliding windows however
// late it is read; an idle router does not wake up at all.

/**
 * How long lines gather in the kernel (then HAProxy's 4 MB ring) before the
 * reader takes them in one go. A batch costs far more than its lines' share
 * (side by side at 500 req/s: the control process used about 10 µs per
 * request with 200 ms batches and 5 with 1 s ones), and nothing waits on it:
 * reads flush, lines carry their own time. At 20,000 req/s a second of lines
 * is under 1 MB.
 */
export const BATCH_MS = 1000;
/** A read at least this long (characters) may have left lines behind: read on at once. */
const CAUGHT_UP_BELOW = 16 * 1024;

export interface RequestLogEntry {
  backend: string;
  server: string;
  status: number;
  latencyMs: number;
  /** HAProxy's two-letter termination state (`--` normal, `SC` refused, `sH` server timeout, `CD` client gone…). */
  termination: string;
  /** Failed connection attempts that were retried (hidden from the user if the retry worked). */
  retries: number;
  /** The client's source port (matches a client's own record of a failed connection). */
  clientPort?: number;
  /** When the request ended (HAProxy's clock, to the second): where it belongs in the sliding windows. */
  endedAtMs?: number;
}

const SPACE = 32;
const PLUS = 43;
const MINUS = 45;
const ZERO = 48;
const NINE = 57;

/** The integer in line[from, to) (an optional sign, then digits); NaN if anything else. */
function intAt(line: string, from: number, to: number): number {
  let i = from;
  const sign = line.charCodeAt(i);
  if (sign === PLUS || sign === MINUS) i++;
  if (i >= to) return Number.NaN;
  let n = 0;
  for (; i < to; i++) {
    const c = line.charCodeAt(i);
    if (c < ZERO || c > NINE) return Number.NaN;
    n = n * 10 + (c - ZERO);
  }
  return sign === MINUS ? -n : n;
}

/** End of the field starting at `from`: the next space, or the end of the line. */
function fieldEnd(line: string, from: number): number {
  const end = line.indexOf(" ", from);
  return end < 0 ? line.length : end;
}

/**
 * One line, read in place: the field ends are found with indexOf and the
 * numbers parsed from the characters, so a line costs the entry and its three
 * text fields rather than a split array of eight strings (HAProxy sends one
 * line per request: this runs thousands of times a second at load).
 */
export function parseRequestLine(line: string): RequestLogEntry | undefined {
  if (line.charCodeAt(0) !== REQUEST_LOG_PREFIX.charCodeAt(0) || line.charCodeAt(1) !== SPACE)
    return undefined;
  const backendEnd = fieldEnd(line, 2);
  const serverEnd = fieldEnd(line, backendEnd + 1);
  const statusEnd = fieldEnd(line, serverEnd + 1);
  const latencyEnd = fieldEnd(line, statusEnd + 1);
  const terminationEnd = fieldEnd(line, latencyEnd + 1);
  if (terminationEnd >= line.length) return undefined; // fewer than the seven fields
  const retriesEnd = fieldEnd(line, terminationEnd + 1);
  const status = intAt(line, serverEnd + 1, statusEnd);
  const latencyUs = intAt(line, statusEnd + 1, latencyEnd);
  const retries = intAt(line, terminationEnd + 1, retriesEnd);
  if (Number.isNaN(status) || Number.isNaN(latencyUs) || Number.isNaN(retries)) return undefined;
  const entry: RequestLogEntry = {
    backend: line.slice(2, backendEnd),
    server: line.slice(backendEnd + 1, serverEnd),
    status,
    latencyMs: latencyUs / 1000,
    termination: line.slice(latencyEnd + 1, terminationEnd),
    retries,
  };
  if (retriesEnd < line.length) {
    const portEnd = fieldEnd(line, retriesEnd + 1);
    const clientPort = intAt(line, retriesEnd + 1, portEnd);
    if (!Number.isNaN(clientPort)) entry.clientPort = clientPort;
    const endedAt =
      portEnd < line.length ? intAt(line, portEnd + 1, fieldEnd(line, portEnd + 1)) : Number.NaN;
    if (endedAt > 0) entry.endedAtMs = endedAt * 1000;
  }
  return entry;
}

/**
 * What the request means for its backend's statistics, with the old router's
 * semantics: a 5xx answer, a refused/reset connection and a server timeout
 * are errors; a client that hung up is counted (499) but is not the
 * backend's fault; latency only for answered requests. `unrouted`: HAProxy
 * answered itself because no backend could take the request.
 */
export function outcomeOf(e: RequestLogEntry): Outcome | "unrouted" {
  if (e.backend === FRONTEND) return "unrouted";
  const cause = e.termination[0];
  if (cause === "s") return { kind: "timeout", latencyMs: e.latencyMs };
  if (cause === "S") return { kind: "connection", latencyMs: e.latencyMs };
  if (cause === "C" || cause === "c") return { kind: "response", status: 499, latencyMs: e.latencyMs };
  return { kind: "response", status: e.status, latencyMs: e.latencyMs };
}

/** A request that did not end normally (HAProxy's termination state is not `--`) or got a 5xx: worth a line in the router log. */
export function isAbnormal(e: RequestLogEntry): boolean {
  return e.termination !== "--" || e.status >= 500 || e.status < 0;
}

/** Upstream attempts that failed at connection level: the retried ones, plus the last if it failed too. */
export function upstreamFailures(e: RequestLogEntry): number {
  return e.retries + (e.termination[0] === "S" ? 1 : 0);
}

export interface LogSink {
  port: number;
  /**
   * Resolves once every request HAProxy finished before this call has been
   * read: a marker request through HAProxy's `flush` frontend, then its log
   * line read back (bounded by `timeoutMs`; late lines then count at the next read).
   */
  flush(flushSocket: string, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** Loopback TCP listener for HAProxy's ring; calls `onLine` for every complete request line. */
export async function startLogSink(
  onLine: (line: string) => void,
  { batchMs = BATCH_MS }: { batchMs?: number } = {},
): Promise<LogSink> {
  const sockets = new Map<net.Socket, { timer?: NodeJS.Timeout }>();
  const markers = new Map<string, () => void>();
  const lineIn = (line: string) => {
    if (line.startsWith(`${FLUSH_LOG_PREFIX} `)) markers.get(line.slice(FLUSH_LOG_PREFIX.length + 1))?.();
    else onLine(line);
  };
  const server = net.createServer({ highWaterMark: 1 }, (sock) => {
    const state: { timer?: NodeJS.Timeout } = {};
    sockets.set(sock, state);
    let rest = "";
    sock.setEncoding("utf8");
    sock.on("data", (chunk: string) => {
      const text = rest + chunk;
      const lines = text.split("\n");
      rest = lines.pop() ?? "";
      for (const line of lines) if (line) lineIn(line);
      // Caught up and no flush waiting for its marker: let the next lines gather.
      if (chunk.length >= CAUGHT_UP_BELOW || markers.size > 0) return;
      sock.pause();
      state.timer ??= setTimeout(() => {
        state.timer = undefined;
        sock.resume();
      }, batchMs);
    });
    sock.on("error", () => undefined); // HAProxy reconnects; the ring keeps what was not sent
    sock.on("close", () => {
      clearTimeout(state.timer);
      sockets.delete(sock);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    flush: async (flushSocket, timeoutMs = 1000) => {
      const marker = randomBytes(8).toString("hex");
      let timer: NodeJS.Timeout | undefined;
      const seen = new Promise<void>((resolve) => {
        markers.set(marker, resolve);
        timer = setTimeout(resolve, timeoutMs);
      });
      try {
        await sendMarker(flushSocket, marker, timeoutMs);
        for (const s of sockets.keys()) s.resume();
        await seen;
      } catch {
        // HAProxy not answering (restarting): the statistics are as fresh as they can be
      } finally {
        clearTimeout(timer);
        markers.delete(marker);
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const [s, { timer }] of sockets) {
          clearTimeout(timer);
          s.destroy();
        }
        server.close(() => resolve());
      }),
  };
}

function sendMarker(socketPath: string, marker: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { socketPath, path: "/", headers: { [FLUSH_HEADER]: marker }, agent: false },
      (res) => {
        res.resume();
        res.on("end", () => resolve());
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error("flush marker timed out")));
    req.on("error", reject);
    req.end();
  });
}
