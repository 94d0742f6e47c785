// AES-256-GCM payload codec: every payload a client or worker sends is
// serialized (metadata and data together), encrypted with the first key and
// sent as `binary/encrypted` with the key id in the metadata, so Temporal's
// history and the Web UI hold ciphertext only. Payloads without that encoding
// (histories recorded before encryption) pass through unchanged.

import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { METADATA_ENCODING_KEY, type Payload, type PayloadCodec, ValueError } from "@temporalio/common";
import { temporal } from "@temporalio/proto";
import type { CodecKey, CodecKeySet } from "./keys";

export const ENCODING = "binary/encrypted";
export const METADATA_KEY_ID = "encryption-key-id";
const IV_BYTES = 12;
const TAG_BYTES = 16;

const text = (s: string) => new TextEncoder().encode(s);
const untext = (b: Uint8Array | null | undefined) => (b ? Buffer.from(b).toString("utf8") : undefined);

export class AesGcmPayloadCodec implements PayloadCodec {
  private readonly byId: Map<string, Buffer>;
  private readonly current: CodecKey;

  constructor(keySet: CodecKeySet) {
    const [first] = keySet.keys;
    if (!first) throw new ValueError(`no key in ${keySet.source}`);
    this.current = first;
    this.byId = new Map(keySet.keys.map((k) => [k.id, k.key]));
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const plain = temporal.api.common.v1.Payload.encode(payload).finish();
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv("aes-256-gcm", this.current.key, iv);
      const body = Buffer.concat([cipher.update(plain), cipher.final()]);
      return {
        metadata: { [METADATA_ENCODING_KEY]: text(ENCODING), [METADATA_KEY_ID]: text(this.current.id) },
        data: Buffer.concat([iv, body, cipher.getAuthTag()]),
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      if (untext(payload.metadata?.[METADATA_ENCODING_KEY]) !== ENCODING) return payload;
      const id = untext(payload.metadata?.[METADATA_KEY_ID]);
      const key = id === undefined ? undefined : this.byId.get(id);
      if (!key) {
        throw new ValueError(
          `payload encrypted with key ${JSON.stringify(id)}, which is not among the keys loaded (${[...this.byId.keys()].join(", ")}); add it to SHIPSHAPE_CODEC_KEYS`,
        );
      }
      const data = Buffer.from(payload.data ?? new Uint8Array());
      if (data.length < IV_BYTES + TAG_BYTES) throw new ValueError("encrypted payload is truncated");
      const decipher = createDecipheriv("aes-256-gcm", key, data.subarray(0, IV_BYTES));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      const plain = Buffer.concat([
        decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)),
        decipher.final(),
      ]);
      return temporal.api.common.v1.Payload.decode(plain);
    });
  }
}
