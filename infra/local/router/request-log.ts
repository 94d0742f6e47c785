import net from "node:net";
import { FRONTEND, REQUEST_LOG_PREFIX } from "./haproxy-config";
import type { Outcome } from "./stats";

// The per-request log HAProxy streams to the control process: its `ring`
// forwards every line over one loopback TCP connection (raw format, one line
// per message), so the reader pays one read() for many requests instead of
// one datagram each. Line format (log-format in haproxy-config.ts):
//
//   R <backend> <server> <status> <latency µs> <termination state> <retries>
//
// Lines not starting with "R " are HAProxy's own events (server up/down…).

export interface RequestLogEntry {
  backend: string;
  server: string;
  status: number;
  latencyMs: number;
  /** HAProxy's two-letter termination state (`--` normal, `SC` refused, `sH` server timeout, `CD` client gone…). */
  termination: string;
  /** Failed connection attempts that were retried (hidden from the user if the retry worked). */
  retries: number;
}

export function parseRequestLine(line: string): RequestLogEntry | undefined {
  const f = line.split(" ");
  if (f[0] !== REQUEST_LOG_PREFIX || f.length < 7) return undefined;
  const status = Number(f[3]);
  const latencyUs = Number(f[4]);
  const retries = Number(f[6]!.replace(/^\+/, ""));
  if (!Number.isFinite(status) || !Number.isFinite(latencyUs) || !Number.isFinite(retries)) return undefined;
  return { backend: f[1]!, server: f[2]!, status, latencyMs: latencyUs / 1000, termination: f[5]!, retries };
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

/** Upstream attempts that failed at connection level: the retried ones, plus the last if it failed too. */
export function upstreamFailures(e: RequestLogEntry): number {
  return e.retries + (e.termination[0] === "S" ? 1 : 0);
}

export interface LogSink {
  port: number;
  close(): Promise<void>;
}

/** Loopback TCP listener for HAProxy's ring; calls `onLine` for every complete line. */
export async function startLogSink(onLine: (line: string) => void): Promise<LogSink> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((sock) => {
    sockets.add(sock);
    let rest = "";
    sock.setEncoding("utf8");
    sock.on("data", (chunk: string) => {
      const text = rest + chunk;
      const lines = text.split("\n");
      rest = lines.pop() ?? "";
      for (const line of lines) if (line) onLine(line);
    });
    sock.on("error", () => undefined); // HAProxy reconnects; the ring keeps what was not sent
    sock.on("close", () => sockets.delete(sock));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
