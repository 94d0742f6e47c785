// The codec server's bearer token: from SHIPSHAPE_CODEC_TOKEN, or a random one
// kept in a 0600 file (made on first use) so the CLI user can pass it to
// `temporal --codec-auth "Bearer $(cat FILE)"`.

import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { stateDir } from "../runtime/paths";

export const CODEC_TOKEN_ENV = "SHIPSHAPE_CODEC_TOKEN";

export function defaultCodecTokenFile(): string {
  return path.join(stateDir(), "codec-server.token");
}

export function loadOrCreateCodecToken(file: string = defaultCodecTokenFile()): {
  token: string;
  file?: string;
} {
  const fromEnv = process.env[CODEC_TOKEN_ENV]?.trim();
  if (fromEnv) return { token: fromEnv };
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `${randomBytes(24).toString("base64url")}\n`, { mode: 0o600, flag: "wx" });
  }
  return { token: fs.readFileSync(file, "utf8").trim(), file };
}
