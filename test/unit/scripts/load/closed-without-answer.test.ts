// The shoppers send a GET again when its connection closed without any
// answer (a keep-alive connection the other side closed), as browsers do for
// idempotent requests; this tells that failure from the others.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closedWithoutAnswer } from "../../../../scripts/load/generate-load";

let server: http.Server;
let url: string;
beforeAll(async () => {
  server = http.createServer((req, res) => {
    if (req.url === "/hang-up") return void req.socket.destroy();
    res.end("ok");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const failureOf = (p: Promise<unknown>) =>
  p.then(
    () => null,
    (err: unknown) => err,
  );

describe("closedWithoutAnswer", () => {
  it("names a connection the server closed without answering", async () => {
    const err = await failureOf(fetch(`${url}/hang-up`));
    expect(closedWithoutAnswer(err)).toBe("UND_ERR_SOCKET");
  });

  it("is not a refused connection, a timeout or an answer", async () => {
    expect(closedWithoutAnswer(await failureOf(fetch("http://127.0.0.1:1/")))).toBeUndefined();
    const timeout = await failureOf(fetch(`${url}/`, { signal: AbortSignal.timeout(0) }));
    expect(closedWithoutAnswer(timeout)).toBeUndefined();
    expect(closedWithoutAnswer(null)).toBeUndefined();
  });
});
