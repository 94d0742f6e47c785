import { createHmac, timingSafeEqual } from "node:crypto";

// Every body Shipshape sends to another system (notifications, hooks) is
// signed the same way, so a receiver verifies one scheme:
//
//   X-Shipshape-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
//
// The timestamp is inside the MAC so a captured request cannot be replayed
// later than the receiver's tolerance; `v1` names the scheme so a future one
// can be sent alongside it while receivers migrate.

export const SIGNATURE_HEADER = "X-Shipshape-Signature";

/** The default window a receiver accepts a signature in (either side of its clock). */
export const DEFAULT_TOLERANCE_SECONDS = 300;

function mac(secret: string, timestamp: number, body: string): string {
  return createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex");
}

/** The header value for `body` (the exact bytes sent), signed at `nowSeconds`. */
export function signBody(secret: string, body: string, nowSeconds = Math.floor(Date.now() / 1000)): string {
  if (!secret) throw new Error("a signing secret must not be empty");
  return `t=${nowSeconds},v1=${mac(secret, nowSeconds, body)}`;
}

export type SignatureCheck = { ok: true; timestamp: number } | { ok: false; reason: string };

/** What a receiver does: parse the header, check the timestamp window, compare MACs in constant time. */
export function verifySignature(
  secret: string,
  body: string,
  header: string | undefined,
  opts: { nowSeconds?: number; toleranceSeconds?: number } = {},
): SignatureCheck {
  if (!header) return { ok: false, reason: `no ${SIGNATURE_HEADER} header` };
  const parts = new Map<string, string[]>();
  for (const item of header.split(",")) {
    const [k, v] = item.trim().split("=", 2);
    if (k && v) parts.set(k, [...(parts.get(k) ?? []), v]);
  }
  const t = Number(parts.get("t")?.[0]);
  if (!Number.isInteger(t)) return { ok: false, reason: "the signature has no integer timestamp (t=)" };
  const now = opts.nowSeconds ?? Math.floor(Date.now() / 1000);
  const tolerance = opts.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (Math.abs(now - t) > tolerance)
    return {
      ok: false,
      reason: `the signature's timestamp is ${now - t} s away from now (tolerance ${tolerance} s)`,
    };
  const expected = Buffer.from(mac(secret, t, body), "hex");
  const matches = (parts.get("v1") ?? []).some((hex) => {
    const got = Buffer.from(hex, "hex");
    return got.length === expected.length && timingSafeEqual(got, expected);
  });
  return matches ? { ok: true, timestamp: t } : { ok: false, reason: "no v1 signature matches the body" };
}
