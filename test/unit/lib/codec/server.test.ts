import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AesGcmPayloadCodec } from "../../../../lib/codec/aes-gcm-codec";
import { parseCodecKeys } from "../../../../lib/codec/keys";
import { type CodecServer, startCodecServer } from "../../../../lib/codec/server";

const TOKEN = randomBytes(24).toString("base64url");
const UI = "http://127.0.0.1:8233";
let server: CodecServer;

beforeAll(async () => {
  server = await startCodecServer({
    codec: new AesGcmPayloadCodec(parseCodecKeys(`k1:${randomBytes(32).toString("base64")}`, "test")),
    token: TOKEN,
    uiOrigins: [UI],
    maxBodyBytes: 1024,
  });
});
afterAll(() => server.close());

const post = (route: string, headers: Record<string, string>, body: unknown = { payloads: [] }) =>
  fetch(`${server.url}${route}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });

describe("codec server", () => {
  it("round-trips payloads for a caller with the bearer token", async () => {
    const plain = {
      metadata: { encoding: Buffer.from("json/plain").toString("base64") },
      data: Buffer.from('"hi"').toString("base64"),
    };
    const enc = await post("/encode", { authorization: `Bearer ${TOKEN}` }, { payloads: [plain] });
    expect(enc.status).toBe(200);
    const encoded = (await enc.json()) as { payloads: unknown[] };
    const dec = await post("/decode", { authorization: `Bearer ${TOKEN}` }, encoded);
    expect(await dec.json()).toEqual({ payloads: [plain] });
  });

  it("lets the Web UI in by its origin, with the CORS grant and preflight", async () => {
    const r = await post("/decode", { origin: UI, "x-namespace": "default" });
    expect(r.status).toBe(200);
    expect(r.headers.get("access-control-allow-origin")).toBe(UI);
    const pre = await fetch(`${server.url}/decode`, { method: "OPTIONS", headers: { origin: UI } });
    expect(pre.status).toBe(204);
    expect(pre.headers.get("access-control-allow-headers")).toContain("x-namespace");
  });

  it("refuses everyone else", async () => {
    expect((await post("/decode", {})).status).toBe(401);
    expect((await post("/decode", { authorization: "Bearer wrong-token-wrong-token" })).status).toBe(401);
    const evil = await post("/decode", { origin: "http://evil.example" });
    expect(evil.status).toBe(403);
    expect(evil.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("bounds the body and rejects what is not payloads", async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    expect((await post("/decode", auth, { payloads: [{ data: "A".repeat(4000) }] })).status).toBe(413);
    expect((await post("/decode", auth, { nope: 1 })).status).toBe(400);
  });

  it("refuses a non-loopback Web UI origin at start", async () => {
    await expect(
      startCodecServer({
        codec: {} as AesGcmPayloadCodec,
        token: TOKEN,
        uiOrigins: ["https://ui.example.com"],
      }),
    ).rejects.toThrow(/not a loopback origin/);
  });
});
