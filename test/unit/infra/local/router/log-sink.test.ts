import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { FLUSH_HEADER } from "../../../../../infra/local/router/haproxy-config";
import { type LogSink, startLogSink } from "../../../../../infra/local/router/request-log";
import { waitUntil } from "./helpers";

// The reader of HAProxy's request log (the ring's TCP connection), driven by
// a test client in HAProxy's place.

const open: Array<{ close(): unknown }> = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function sinkWithClient(batchMs: number) {
  const lines: string[] = [];
  const sink = await startLogSink((l) => lines.push(l), { batchMs });
  open.push(sink);
  const client = net.connect(sink.port, "127.0.0.1");
  await new Promise((r) => client.once("connect", r));
  open.push({ close: () => client.destroy() });
  return { sink, client, lines };
}

/** Bytes the kernel holds for the reader's end of the connection, unread (/proc/net/tcp rx_queue). */
function unreadBytes(sinkPort: number, clientPort: number): number {
  const hex = (p: number) => p.toString(16).toUpperCase().padStart(4, "0");
  for (const row of fs.readFileSync("/proc/net/tcp", "utf8").split("\n").slice(1)) {
    const f = row.trim().split(/\s+/);
    if (f[1]?.endsWith(`:${hex(sinkPort)}`) && f[2]?.endsWith(`:${hex(clientPort)}`))
      return Number.parseInt(f[4]!.split(":")[1]!, 16);
  }
  throw new Error("the reader's end of the connection is not in /proc/net/tcp");
}

describe("request log reader", () => {
  it("leaves the lines in the kernel between batches instead of waking up for each, then reads them in order", async () => {
    const { sink, client, lines } = await sinkWithClient(1500);
    client.write("R first\n");
    await waitUntil(() => lines.length === 1, 2000, "the first line");
    // Paused now: one more read at most (Node's own buffer of one chunk), then nothing.
    client.write("R second\n");
    await sleep(100);
    client.write("R third\n");
    await sleep(100);
    expect(lines).toEqual(["R first"]);
    expect(unreadBytes(sink.port, client.localPort!)).toBe("R third\n".length);
    await waitUntil(() => lines.length === 3, 3000, "the batch");
    expect(lines).toEqual(["R first", "R second", "R third"]);
    expect(unreadBytes(sink.port, client.localPort!)).toBe(0);
  });

  it("keeps up with a steady trickle of lines between flushes (it used to take one line per batch: 20 a second)", async () => {
    const { client, lines } = await sinkWithClient(50);
    let sent = 0;
    const writer = setInterval(() => client.write(`R line ${sent++}\n`), 2);
    await sleep(1000);
    clearInterval(writer);
    // A line per 2 ms, one write each (HAProxy sends a line as the request ends): all read within a few batches.
    await waitUntil(() => lines.length === sent, 1000, `all ${sent} lines (read ${lines.length})`);
    expect(lines.at(-1)).toBe(`R line ${sent - 1}`);
  });

  it("drains a backlog in one batch, not one read per batch (HAProxy's ring must not back up)", async () => {
    const { client, lines } = await sinkWithClient(1000);
    client.write("R first\n");
    await waitUntil(() => lines.length === 1, 2000, "the first line");
    const backlog = Array.from({ length: 40_000 }, (_, i) => `R line ${String(i).padStart(8, "0")}\n`).join(
      "",
    );
    expect(backlog.length).toBeGreaterThan(600_000); // ten reads of 64 KB at least
    client.write(backlog);
    // One batch (1 s) and then reading without pauses; a read per batch would take ten seconds.
    await waitUntil(() => lines.length === 40_001, 4000, "the whole backlog");
    expect(lines[40_000]).toBe("R line 00039999");
  });

  it("a flush reads everything HAProxy logged before it at once, whatever the batch", {
    timeout: 30_000,
  }, async () => {
    const { sink, client, lines } = await sinkWithClient(60_000);
    client.write("R first\n");
    await waitUntil(() => lines.length === 1, 2000, "the first line");
    client.write("R before-flush\n");
    // HAProxy's flush frontend in a test's hands: the marker request logs an `F <marker>` line.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "log-sink-"));
    const socketPath = path.join(dir, "flush.sock");
    const flushFrontend = http.createServer((req, res) => {
      client.write(`F ${req.headers[FLUSH_HEADER]}\n`);
      res.writeHead(204).end();
    });
    await new Promise<void>((r) => flushFrontend.listen(socketPath, r));
    open.push({ close: () => new Promise((r) => flushFrontend.close(r)) });
    const t0 = Date.now();
    // Its marker line read back, not its timeout.
    await (sink as LogSink).flush(socketPath, 20_000);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(lines).toEqual(["R first", "R before-flush"]);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
