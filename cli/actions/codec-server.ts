// `shipshape codec-server` (declared in cli/commands/codec-server.ts): serves
// /encode and /decode until SIGINT/SIGTERM.

import { AesGcmPayloadCodec } from "../../lib/codec/aes-gcm-codec";
import { CodecKeyError, loadCodecKeys } from "../../lib/codec/keys";
import { startCodecServer } from "../../lib/codec/server";
import { loadOrCreateCodecToken } from "../../lib/codec/token";
import type { CodecServerOptions } from "../commands/codec-server";
import type { CliContext } from "../context";
import { CliError } from "../errors";

export async function serveCodec(ctx: CliContext, options: CodecServerOptions): Promise<void> {
  let keys: ReturnType<typeof loadCodecKeys>;
  try {
    keys = loadCodecKeys();
  } catch (e) {
    if (e instanceof CodecKeyError) throw new CliError(e.message);
    throw e;
  }
  const port = Number(options.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new CliError(`--port ${options.port} is not a port`);
  const { token, file } = loadOrCreateCodecToken(options.tokenFile);
  let server: Awaited<ReturnType<typeof startCodecServer>>;
  try {
    server = await startCodecServer({
      codec: new AesGcmPayloadCodec(keys),
      token,
      host: options.host,
      port,
      uiOrigins: options.uiOrigin,
    });
  } catch (e) {
    throw new CliError(`codec server did not start: ${e instanceof Error ? e.message : String(e)}`);
  }
  ctx.stdout(
    `codec server on ${server.url} (keys from ${keys.source}: ${keys.keys.map((k) => k.id).join(", ")})`,
  );
  ctx.stdout(`  Web UI origins without token: ${options.uiOrigin.join(", ") || "none"}`);
  ctx.stdout(
    `  temporal ... --codec-endpoint ${server.url} --codec-auth "Bearer $(cat ${file ?? "<your token>"})"`,
  );
  await new Promise<void>((resolve) => {
    const stop = () => void server.close().then(resolve);
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
}
