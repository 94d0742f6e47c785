import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { signBody, verifySignature } from "../../../../lib/notifications/signature";

describe("X-Shipshape-Signature", () => {
  const body = '{"event":"promoted"}';

  it("is HMAC-SHA256 over '<t>.<body>' in hex, as documented (a receiver can recompute it by hand)", () => {
    const hex = createHmac("sha256", "s3cret").update(`1796000000.${body}`).digest("hex");
    expect(signBody("s3cret", body, 1796000000)).toBe(`t=1796000000,v1=${hex}`);
  });

  it("verifies its own signature within the tolerance, and refuses a changed body, a wrong secret, an old timestamp", () => {
    const h = signBody("s3cret", body, 1000);
    expect(verifySignature("s3cret", body, h, { nowSeconds: 1100 })).toEqual({ ok: true, timestamp: 1000 });
    expect(verifySignature("s3cret", `${body} `, h, { nowSeconds: 1100 }).ok).toBe(false);
    expect(verifySignature("other", body, h, { nowSeconds: 1100 }).ok).toBe(false);
    expect(verifySignature("s3cret", body, h, { nowSeconds: 1000 + 301 })).toEqual({
      ok: false,
      reason: "the signature's timestamp is 301 s away from now (tolerance 300 s)",
    });
    expect(verifySignature("s3cret", body, undefined).ok).toBe(false);
    expect(verifySignature("s3cret", body, "v1=abc", { nowSeconds: 1000 }).ok).toBe(false);
  });

  it("accepts any matching v1 among several (secret rotation), and refuses an empty secret", () => {
    const good = signBody("new", body, 5).split(",")[1];
    expect(verifySignature("new", body, `t=5,v1=00ff,${good}`, { nowSeconds: 5 }).ok).toBe(true);
    expect(() => signBody("", body)).toThrow(/must not be empty/);
  });
});
