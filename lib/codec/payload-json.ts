// The codec server's wire format, as the Temporal CLI and Web UI send it:
// {"payloads":[{"metadata":{"encoding":"<base64>"},"data":"<base64>"}]}.

import type { Payload } from "@temporalio/common";

interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

/** Thrown for a body that is not the documented shape (the server answers 400). */
export class PayloadJsonError extends Error {}

export function payloadsFromJson(body: unknown): Payload[] {
  const list = (body as { payloads?: unknown } | null)?.payloads;
  if (!Array.isArray(list)) throw new PayloadJsonError('expected {"payloads": [...]}');
  return list.map((raw, i) => {
    const p = raw as JsonPayload;
    if (p === null || typeof p !== "object") throw new PayloadJsonError(`payloads[${i}] is not an object`);
    const metadata: Record<string, Uint8Array> = {};
    for (const [k, v] of Object.entries(p.metadata ?? {})) {
      if (typeof v !== "string")
        throw new PayloadJsonError(`payloads[${i}].metadata.${k} is not base64 text`);
      metadata[k] = Buffer.from(v, "base64");
    }
    return { metadata, data: Buffer.from(typeof p.data === "string" ? p.data : "", "base64") };
  });
}

export function payloadsToJson(payloads: Payload[]): { payloads: JsonPayload[] } {
  return {
    payloads: payloads.map((p) => ({
      metadata: Object.fromEntries(
        Object.entries(p.metadata ?? {}).map(([k, v]) => [
          k,
          Buffer.from(v ?? new Uint8Array()).toString("base64"),
        ]),
      ),
      data: Buffer.from(p.data ?? new Uint8Array()).toString("base64"),
    })),
  };
}
