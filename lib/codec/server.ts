// The codec server (`shipshape codec-server`): /encode and /decode over HTTP
// for the Temporal Web UI (`--ui-codec-endpoint`) and the Temporal CLI
// (`--codec-endpoint` with `--codec-auth`).
//
// Who may use it: a caller presenting the bearer token; or — because the Web UI
// calls the endpoint from the browser and cannot attach a token — a request
// whose Origin is one of the configured Web UI origins, only when the server
// listens on loopback, the request comes from loopback and the origin itself
// is a loopback origin. Everything else gets 401/403 and no CORS grant.

import { timingSafeEqual } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { PayloadCodec } from "@temporalio/common";
import { PayloadJsonError, payloadsFromJson, payloadsToJson } from "./payload-json";

export interface CodecServerOptions {
  codec: PayloadCodec;
  /** Bearer token every non-browser caller must send. */
  token: string;
  /** Web UI origins allowed without a token, e.g. http://127.0.0.1:8233. */
  uiOrigins?: readonly string[];
  host?: string;
  port?: number;
  /** Largest request body accepted. */
  maxBodyBytes?: number;
}

export interface CodecServer {
  url: string;
  close(): Promise<void>;
}

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "::1", "[::1]"]);
const DEFAULT_MAX_BODY = 8 * 1024 * 1024;

export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_HOSTS.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** An origin the server may trust without a token: http(s) on a loopback host. */
export function isLoopbackOrigin(origin: string): boolean {
  try {
    const u = new URL(origin);
    return (u.protocol === "http:" || u.protocol === "https:") && isLoopbackHost(u.hostname);
  } catch {
    return false;
  }
}

function tokenMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(header ?? "");
  if (!m) return false;
  const given = Buffer.from(m[1]!.trim());
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer | "too-large"> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    // Past the limit the rest is read and dropped, so the caller still gets the 413.
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size <= limit) chunks.push(c);
    });
    req.on("end", () => resolve(size > limit ? "too-large" : Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

export async function startCodecServer(options: CodecServerOptions): Promise<CodecServer> {
  const host = options.host ?? "127.0.0.1";
  if (options.token.length < 16) throw new Error("the codec server token must be at least 16 characters");
  const uiOrigins = new Set(options.uiOrigins ?? []);
  for (const o of uiOrigins) {
    if (!isLoopbackOrigin(o)) {
      throw new Error(
        `--ui-origin ${o} is not a loopback origin: only a Web UI on this machine may call the codec server without a token`,
      );
    }
  }
  // Token-free browser access only makes sense when nobody else can reach the port.
  const originAccess = isLoopbackHost(host);
  const maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY;

  const server = http.createServer(async (req, res) => {
    const origin = req.headers.origin;
    const trustedOrigin = origin !== undefined && uiOrigins.has(origin);
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (trustedOrigin) {
      res.setHeader("access-control-allow-origin", origin);
      res.setHeader("access-control-allow-credentials", "true");
      res.setHeader("access-control-allow-methods", "POST, OPTIONS");
      res.setHeader("access-control-allow-headers", "content-type, x-namespace, authorization");
      res.setHeader("vary", "origin");
    }
    if (req.method === "OPTIONS") {
      res.writeHead(trustedOrigin ? 204 : 403);
      res.end();
      return;
    }
    const route = (req.url ?? "").split("?")[0];
    if (req.method !== "POST" || (route !== "/encode" && route !== "/decode")) {
      send(404, { error: "POST /encode or /decode" });
      return;
    }
    const fromLoopback = isLoopbackHost(req.socket.remoteAddress?.replace(/^::ffff:/, "") ?? "");
    const authorized =
      tokenMatches(req.headers.authorization, options.token) ||
      (originAccess && trustedOrigin && fromLoopback);
    if (!authorized) {
      res.setHeader("www-authenticate", 'Bearer realm="shipshape-codec"');
      send(origin !== undefined && !trustedOrigin ? 403 : 401, {
        error:
          origin !== undefined && !trustedOrigin
            ? `origin ${origin} is not an allowed Web UI origin`
            : "send Authorization: Bearer <token> (temporal --codec-auth 'Bearer <token>')",
      });
      return;
    }
    try {
      const body = await readBody(req, maxBody);
      if (body === "too-large") {
        send(413, { error: `request body over ${maxBody} bytes` });
        return;
      }
      const payloads = payloadsFromJson(JSON.parse(body.toString("utf8")));
      const out =
        route === "/encode" ? await options.codec.encode(payloads) : await options.codec.decode(payloads);
      send(200, payloadsToJson(out));
    } catch (e) {
      const bad = e instanceof PayloadJsonError || e instanceof SyntaxError;
      send(bad ? 400 : 422, { error: e instanceof Error ? e.message : String(e) });
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const shownHost = host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
