// The data converter of every Temporal client and worker of the project: the
// AES-GCM payload codec over the keys from SHIPSHAPE_CODEC_KEYS (or the
// development key file), and failures whose messages go through the codec.
// Without it a client cannot read what a worker wrote, and the other way round.

import path from "node:path";
import type { DataConverter } from "@temporalio/common";
import { AesGcmPayloadCodec } from "./aes-gcm-codec";
import { CODEC_KEYS_ENV, type CodecKeySet, ensureDevCodecKeys, loadCodecKeys } from "./keys";

/**
 * For bundleWorkflowCode (the workflow sandbox converts failures too) and for
 * the worker and clients, which require it at run time: the sibling module of
 * this one, `.ts` when run from the sources, `.js` when run from dist/.
 */
export const FAILURE_CONVERTER_PATH = path.join(__dirname, `failure-converter${path.extname(__filename)}`);

export function createDataConverter(keys: CodecKeySet = loadCodecKeys()): DataConverter {
  return {
    payloadCodecs: [new AesGcmPayloadCodec(keys)],
    failureConverterPath: FAILURE_CONVERTER_PATH,
  };
}

/**
 * For development tooling only (dev stack, demo, chaos, bench, tests): the keys
 * in SHIPSHAPE_CODEC_KEYS, else this machine's development key file, made on
 * first use and exported in SHIPSHAPE_CODEC_KEYS so every worker and client
 * started from here afterwards (even with another SHIPSHAPE_STATE_DIR) uses it.
 */
export function useDevCodecKeys(): string {
  process.env[CODEC_KEYS_ENV] ||= ensureDevCodecKeys();
  return process.env[CODEC_KEYS_ENV];
}

/** createDataConverter() over useDevCodecKeys(): for development tooling and tests. */
export function devDataConverter(): DataConverter {
  useDevCodecKeys();
  return createDataConverter();
}
