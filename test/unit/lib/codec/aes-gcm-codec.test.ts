import { randomBytes } from "node:crypto";
import { defaultPayloadConverter } from "@temporalio/common";
import { describe, expect, it } from "vitest";
import { AesGcmPayloadCodec } from "../../../../lib/codec/aes-gcm-codec";
import { CodecKeyError, loadCodecKeys, parseCodecKeys } from "../../../../lib/codec/keys";

const key = (id: string) => `${id}:${randomBytes(32).toString("base64")}`;
const text = (b: Uint8Array | null | undefined) => Buffer.from(b ?? []).toString("utf8");

describe("AES-256-GCM payload codec", () => {
  const k1 = key("k1");
  const k2 = key("k2");
  const payload = defaultPayloadConverter.toPayload({ password: "hunter2-secret" });

  it("encrypts with the first key, names it in the metadata, and decrypts back", async () => {
    const codec = new AesGcmPayloadCodec(parseCodecKeys(k1, "test"));
    const [encrypted] = await codec.encode([payload]);
    expect(text(encrypted!.metadata!.encoding)).toBe("binary/encrypted");
    expect(text(encrypted!.metadata!["encryption-key-id"])).toBe("k1");
    expect(Buffer.from(encrypted!.data!).toString("latin1")).not.toContain("hunter2");
    const [back] = await codec.decode([encrypted!]);
    expect(defaultPayloadConverter.fromPayload(back!)).toEqual({ password: "hunter2-secret" });
  });

  it("rotation: a codec whose first key is new still decrypts what the old key encrypted", async () => {
    const [old] = await new AesGcmPayloadCodec(parseCodecKeys(k1, "old")).encode([payload]);
    const rotated = new AesGcmPayloadCodec(parseCodecKeys(`${k2},${k1}`, "rotated"));
    expect(defaultPayloadConverter.fromPayload((await rotated.decode([old!]))[0]!)).toEqual({
      password: "hunter2-secret",
    });
    const [fresh] = await rotated.encode([payload]);
    expect(text(fresh!.metadata!["encryption-key-id"])).toBe("k2");
  });

  it("passes payloads without its encoding through (histories recorded before encryption)", async () => {
    const codec = new AesGcmPayloadCodec(parseCodecKeys(k1, "test"));
    expect(await codec.decode([payload])).toEqual([payload]);
  });

  it("refuses an unknown key id and tampered ciphertext", async () => {
    const [encrypted] = await new AesGcmPayloadCodec(parseCodecKeys(k1, "a")).encode([payload]);
    await expect(new AesGcmPayloadCodec(parseCodecKeys(k2, "b")).decode([encrypted!])).rejects.toThrow(
      /key "k1", which is not among the keys loaded \(k2\)/,
    );
    const data = Buffer.from(encrypted!.data!);
    data[20] = (data[20] ?? 0) ^ 1;
    await expect(
      new AesGcmPayloadCodec(parseCodecKeys(k1, "a")).decode([{ ...encrypted!, data }]),
    ).rejects.toThrow();
  });
});

describe("codec keys", () => {
  it("parses files with comments and several keys", () => {
    const set = parseCodecKeys(`# rotation, newest first\n${key("new")}\n${key("old")} # kept\n`, "f");
    expect(set.keys.map((k) => k.id)).toEqual(["new", "old"]);
  });

  it("says what is wrong with a bad key", () => {
    expect(() => parseCodecKeys("k1:c2hvcnQ=", "env")).toThrow(/k1 is 5 bytes, AES-256 needs 32/);
    expect(() => parseCodecKeys(`${key("a")},${key("a")}`, "env")).toThrow(/appears twice/);
    expect(() => parseCodecKeys("", "env")).toThrow(/holds no key/);
  });

  it("a missing key is an error that says how to make one (no built-in default)", () => {
    const saved = process.env.SHIPSHAPE_STATE_DIR;
    process.env.SHIPSHAPE_STATE_DIR = "/nonexistent-shipshape-state";
    try {
      expect(() => loadCodecKeys({})).toThrow(CodecKeyError);
      expect(() => loadCodecKeys({})).toThrow(/set SHIPSHAPE_CODEC_KEYS/);
    } finally {
      if (saved === undefined) delete process.env.SHIPSHAPE_STATE_DIR;
      else process.env.SHIPSHAPE_STATE_DIR = saved;
    }
  });
});
