// `shipshape codec-server`: decrypts payloads for the Temporal Web UI and the
// Temporal CLI (lib/codec/server.ts says who may call it). Runs until Ctrl-C.

import type { Command } from "commander";
import { AesGcmPayloadCodec } from "../../lib/codec/aes-gcm-codec";
import { CodecKeyError, loadCodecKeys } from "../../lib/codec/keys";
import { startCodecServer } from "../../lib/codec/server";
import { defaultCodecTokenFile, loadOrCreateCodecToken } from "../../lib/codec/token";
import type { CliContext } from "../context";
import { CliError } from "../errors";

interface CodecServerOptions {
  host: string;
  port: string;
  uiOrigin: string[];
  tokenFile?: string;
}

export function registerCodecServer(program: Command, ctx: CliContext): void {
  program
    .command("codec-server")
    .description("serve /encode and /decode so the Web UI and `temporal` can read encrypted payloads")
    .option("--host <host>", "address to listen on", "127.0.0.1")
    .option("--port <port>", "port to listen on", process.env.SHIPSHAPE_CODEC_PORT ?? "8234")
    .option(
      "--ui-origin <origin>",
      "Web UI origin allowed without a token (loopback only; repeatable)",
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option("--token-file <file>", `bearer token file (made if missing; default ${defaultCodecTokenFile()})`)
    .addHelpText(
      "after",
      `
Keys: SHIPSHAPE_CODEC_KEYS (key file or id:base64key list). Token: SHIPSHAPE_CODEC_TOKEN or --token-file.
Example:
  shipshape codec-server --ui-origin http://127.0.0.1:8233
  temporal workflow show -w shipshape:shop:production --codec-endpoint http://127.0.0.1:8234 \\
    --codec-auth "Bearer $(cat .shipshape/codec-server.token)"`,
    )
    .action(async (options: CodecServerOptions) => {
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
    });
}
