import { readFileSync } from "node:fs";
import net from "node:net";

/**
 * The lowest port the kernel hands out for outgoing connections. Ports the
 * kernel picks for `listen(0)` come from the same range, so a port reserved
 * that way can be taken by any outgoing connection (a client's socket to
 * PostgreSQL, say) between our check and the server's own bind. That race
 * once made a restarted Temporal fail with "address already in use". Ports
 * below this range are only ever taken by an explicit bind.
 */
function ephemeralRangeStart(): number {
  try {
    const [low] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/);
    const n = Number(low);
    return Number.isInteger(n) && n > 12_000 ? n : 32_768;
  } catch {
    return 32_768; // Linux's default when /proc is not there
  }
}

const LOWEST_PICKED_PORT = 10_000;

function tryListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
}

/**
 * A free TCP port on loopback, picked at random below the ephemeral range
 * (see ephemeralRangeStart) so that only another explicit bind can take it
 * before its user binds it.
 */
export async function freePort(): Promise<number> {
  const high = ephemeralRangeStart() - 1;
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = LOWEST_PICKED_PORT + Math.floor(Math.random() * (high - LOWEST_PICKED_PORT + 1));
    if (await tryListen(port)) return port;
  }
  throw new Error(
    `no free TCP port on 127.0.0.1 between ${LOWEST_PICKED_PORT} and ${high} after 200 tries; ` +
      "stop leftover servers (npm run stack -- stop) or free some ports",
  );
}

/** Resolves once something accepts TCP connections on host:port, or rejects after timeoutMs. */
export async function waitForPort(port: number, timeoutMs: number, host = "127.0.0.1"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const sock = net.connect({ port, host });
      sock.once("connect", () => {
        sock.destroy();
        resolve(true);
      });
      sock.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listening on ${host}:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** True when nothing listens on the port (used by leak checks). */
export function portIsFree(port: number): Promise<boolean> {
  return tryListen(port);
}
