/**
 * A real HTTP receiver on loopback for notification tests: records every
 * request (body, headers, arrival order) and answers as it is told —
 * 200, an error status, or not at all (hangs until released or closed).
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface Received {
  body: string;
  headers: http.IncomingHttpHeaders;
  /** What the receiver did with it. */
  answered: number | "hung";
}

export type Behaviour = { kind: "answer"; status: number } | { kind: "hang" };

export interface Receiver {
  url: string;
  received: Received[];
  /** How the next requests are answered (default 200); a function gets the request's index (0-based). */
  behave(b: Behaviour | ((index: number) => Behaviour)): void;
  /** Bodies of the requests answered 2xx, parsed. */
  accepted(): Array<Record<string, unknown>>;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  let behave: (index: number) => Behaviour = () => ({ kind: "answer", status: 200 });
  const received: Received[] = [];
  const hung = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const behaviour = behave(received.length);
      if (behaviour.kind === "hang") {
        received.push({ body, headers: req.headers, answered: "hung" });
        hung.add(res);
        res.on("close", () => hung.delete(res));
        return;
      }
      received.push({ body, headers: req.headers, answered: behaviour.status });
      res.writeHead(behaviour.status, { "content-type": "text/plain" }).end(`status ${behaviour.status}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    behave(b) {
      behave = typeof b === "function" ? b : () => b;
    },
    accepted: () =>
      received
        .filter((r) => typeof r.answered === "number" && r.answered < 300)
        .map((r) => JSON.parse(r.body) as Record<string, unknown>),
    async close() {
      for (const res of hung) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
