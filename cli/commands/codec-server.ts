// `shipshape codec-server`: decrypts payloads for the Temporal Web UI and the
// Temporal CLI (lib/codec/server.ts says who may call it). Runs until Ctrl-C. What runs: cli/actions/codec-server.ts.

import type { Command } from "commander";
import { defaultCodecTokenFile } from "../../lib/codec/token";
import type { CliContext } from "../context";

export interface CodecServerOptions {
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
      const { serveCodec } = await import("../actions/codec-server");
      await serveCodec(ctx, options);
    });
}
