/**
 * A real HTTP receiver on loopback for hook tests: records every request
 * (body, parsed request, whether the signature verifies) and answers from
 * a script, so a test can say "503, then 200".
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { type HookRequest, HookRequestSchema } from "../../lib/deployment/hook-request";
import { SIGNATURE_HEADER, verifySignature } from "../../lib/notifications/signature";

export interface Received {
  body: string;
  request: HookRequest;
  /** null when the receiver has no secret to check with. */
  signature: { ok: boolean; reason?: string } | null;
  callHeader: string | undefined;
}

export interface Receiver {
  url: string;
  received: Received[];
  close(): Promise<void>;
}

/** `answer(n)`: the status and text of the n-th request (0-based). */
export async function startReceiver(
  answer: (n: number, req: HookRequest) => { status: number; text?: string },
  secret?: string,
): Promise<Receiver> {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => {
      body += c.toString("utf8");
    });
    req.on("end", () => {
      const request = HookRequestSchema.parse(JSON.parse(body));
      const header = req.headers[SIGNATURE_HEADER.toLowerCase()];
      const check = secret
        ? verifySignature(secret, body, typeof header === "string" ? header : undefined)
        : null;
      received.push({
        body,
        request,
        signature: check ? { ok: check.ok, ...(check.ok ? {} : { reason: check.reason }) } : null,
        callHeader: req.headers["x-shipshape-hook-call"] as string | undefined,
      });
      const a = answer(received.length - 1, request);
      res.writeHead(a.status, { "content-type": "text/plain" });
      res.end(a.text ?? "");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
