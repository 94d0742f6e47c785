import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import { type RouterHandle, type RouterOptions, startRouter } from "../../../../../infra/local/router/server";

// Loopback-only fixtures for the router tests: tiny HTTP backends that count
// what reaches them, and a router (its control process in this test process,
// a real HAProxy as its child) wired to a throw-away state directory.

export const TOKEN = "test-token-0123456789";

export interface TestBackend {
  name: string;
  url: string;
  /** Non-health requests that reached this backend's handler. */
  hits: number;
  /** What GET /health answers: true = 200, false = 503. */
  healthy: boolean;
  /** Health checks answered 503 (while `healthy` was false). */
  failedHealthChecks: number;
  /** Headers of the last non-health request. */
  lastHeaders: http.IncomingHttpHeaders | undefined;
  /** Stop listening and cut every open connection, like a killed process. */
  kill(): Promise<void>;
}

export interface BackendBehaviour {
  delayMs?: number;
  /** Status for the n-th (1-based) non-health request. */
  status?: (n: number) => number;
  setCookie?: string;
  /** Close the connection without answering the n-th request (a crash while handling it). */
  hangUp?: (n: number) => boolean;
}

const live = new Set<http.Server>();

export async function startBackend(name: string, behaviour: BackendBehaviour = {}): Promise<TestBackend> {
  const b: Partial<TestBackend> & { hits: number; healthy: boolean; failedHealthChecks: number } = {
    name,
    hits: 0,
    healthy: true,
    failedHealthChecks: 0,
    lastHeaders: undefined,
  };
  const server = http.createServer((req, res) => {
    if (req.url === "/health") {
      if (!b.healthy) b.failedHealthChecks++;
      res.writeHead(b.healthy ? 200 : 503).end(b.healthy ? "ok" : "sick");
      return;
    }
    b.hits++;
    b.lastHeaders = req.headers;
    const n = b.hits;
    if (behaviour.hangUp?.(n)) {
      req.socket.destroy();
      return;
    }
    const answer = () => {
      const headers: Record<string, string> = { "content-type": "text/plain", "x-served-by": name };
      if (behaviour.setCookie) headers["set-cookie"] = behaviour.setCookie;
      res.writeHead(behaviour.status?.(n) ?? 200, headers);
      res.end(name);
    };
    // Drain the request body first so POSTs complete cleanly.
    req.resume();
    req.on("end", () => {
      if (behaviour.delayMs) setTimeout(answer, behaviour.delayMs);
      else answer();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  live.add(server);
  b.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  b.kill = () =>
    new Promise<void>((resolve) => {
      live.delete(server);
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return b as TestBackend;
}

export async function killAllBackends(): Promise<void> {
  await Promise.all(
    [...live].map(
      (s) =>
        new Promise<void>((r) => {
          s.close(() => r());
          s.closeAllConnections();
        }),
    ),
  );
  live.clear();
}

export interface TestRouter extends RouterHandle {
  stateFile: string;
  dir: string;
}

export async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), "shipshape-router-"));
}

export async function startTestRouter(
  opts: Partial<RouterOptions> & { dir?: string } = {},
): Promise<TestRouter> {
  const dir = opts.dir ?? (await tempDir());
  const stateFile = opts.stateFile ?? join(dir, "routes.json");
  const router = await startRouter({
    token: TOKEN,
    log: () => {},
    healthCheck: { intervalMs: 100, timeoutMs: 200, rise: 2, fall: 2 },
    ...opts,
    stateFile,
  });
  return { ...router, stateFile, dir };
}

/** Headers of an override request: the target and the table's override token. */
export function override(router: { table(): { overrideToken?: string } }, target: string) {
  return { "x-shipshape-version": target, "x-shipshape-override-token": router.table().overrideToken ?? "" };
}

export async function removeDir(dir: string): Promise<void> {
  // A process killed a moment ago (HAProxy, a control process) may still be
  // removing its socket or pid file while we walk the folder: retry
  // ENOTEMPTY/EBUSY instead of failing the cleanup.
  await rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
}

export interface Reply {
  status: number;
  backend: string | undefined;
  body: string;
  headers: http.IncomingHttpHeaders;
  startedAt: number;
  endedAt: number;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

/** One request with a hard 5 s timeout (every loop in these tests is bounded). */
export function request(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Reply> {
  const startedAt = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: init.method ?? "GET", headers: init.headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          backend: res.headers["x-shipshape-backend"] as string | undefined,
          body: Buffer.concat(chunks).toString("utf8"),
          headers: res.headers,
          startedAt,
          endedAt: performance.now(),
        }),
      );
      res.on("error", reject);
    });
    req.setTimeout(5000, () => req.destroy(new Error(`request to ${url} timed out`)));
    req.on("error", reject);
    req.end(init.body);
  });
}

/** `total` requests with at most `concurrency` in flight. */
export async function hammer(
  url: string,
  total: number,
  concurrency: number,
  headers: Record<string, string> = {},
): Promise<Reply[]> {
  const out: Reply[] = [];
  let next = 0;
  const worker = async () => {
    while (next < total) {
      next++;
      out.push(await request(url, { headers }));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));
  return out;
}

export function count(replies: readonly Reply[]): Record<string, number> {
  const c: Record<string, number> = {};
  for (const r of replies) {
    const k = r.status === 200 ? (r.backend ?? "?") : `status-${r.status}`;
    c[k] = (c[k] ?? 0) + 1;
  }
  return c;
}

export function admin(
  router: { adminUrl: string },
  path: string,
  init: { method?: string; body?: unknown; token?: string | null } = {},
): Promise<Reply> {
  const headers: Record<string, string> = {};
  const token = init.token === undefined ? TOKEN : init.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (init.body !== undefined) headers["content-type"] = "application/json";
  return request(`${router.adminUrl}${path}`, {
    method: init.method ?? "GET",
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
}

/** Poll `check` every 20 ms until it returns true or `timeoutMs` passes; returns elapsed ms. */
export async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string) {
  const started = performance.now();
  while (!(await check())) {
    if (performance.now() - started > timeoutMs)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return performance.now() - started;
}

export function twoBackends(
  blue: TestBackend[],
  green: TestBackend[],
  weights: { blue: number; green: number },
) {
  return {
    backends: {
      blue: { version: "v1", instances: blue.map((b) => b.url), weight: weights.blue },
      green: { version: "v2", instances: green.map((b) => b.url), weight: weights.green },
    },
  };
}

const MAIN_TS = join(__dirname, "../../../../../infra/local/router/main.ts");
const TSX = join(__dirname, "../../../../../node_modules/.bin/tsx");

export interface LaunchedRouter {
  child: ChildProcess;
  /** The "listening" event: ports and HAProxy's pid. */
  listening: Promise<{ port: number; adminPort: number; haproxyPid: number }>;
  exited: Promise<number | null>;
  /** Every JSON event the router logged so far. */
  events: Array<Record<string, unknown>>;
  stderr(): string;
}

/** The router CLI (infra/local/router/main.ts) as its own process, the way router-process.ts starts it. */
export function launchRouterCli(args: string[], env: Record<string, string | undefined>): LaunchedRouter {
  const child = spawn(TSX, [MAIN_TS, ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  let pending = "";
  const events: Array<Record<string, unknown>> = [];
  const listening = new Promise<{ port: number; adminPort: number; haproxyPid: number }>(
    (resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`router did not start: ${stderr}`)), 20_000);
      child.stderr?.on("data", (d: Buffer) => {
        stderr += d.toString();
        const lines = (pending + d.toString()).split("\n");
        pending = lines.pop() ?? "";
        for (const line of lines) {
          if (!line.startsWith("{")) continue;
          const e = JSON.parse(line) as Record<string, unknown>;
          events.push(e);
          if (e.event === "listening") {
            clearTimeout(timer);
            resolve(e as never);
          }
        }
      });
      child.on("exit", () => reject(new Error(`router exited early: ${stderr}`)));
    },
  );
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, listening, exited, events, stderr: () => stderr };
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * Strict parser for the Prometheus text exposition format (0.0.4): every line
 * must be a comment (# HELP / # TYPE), blank, or `name{labels} value`;
 * anything else throws, which is what "parses" means here.
 */
export function parsePrometheus(text: string): Sample[] {
  const out: Sample[] = [];
  const types = new Map<string, string>();
  const sampleRe = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$/;
  const labelRe = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(?:,|$)/y;
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    if (line.startsWith("# HELP ")) continue;
    if (line.startsWith("# TYPE ")) {
      const [, , name, type] = line.split(" ");
      expect(["counter", "gauge", "histogram", "summary", "untyped"]).toContain(type);
      types.set(name!, type!);
      continue;
    }
    const m = sampleRe.exec(line);
    if (!m) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    if (m[2]) {
      labelRe.lastIndex = 0;
      while (labelRe.lastIndex < m[2].length) {
        const lm = labelRe.exec(m[2]);
        if (!lm) throw new Error(`bad labels in: ${line}`);
        labels[lm[1]!] = lm[2]!;
      }
    }
    const value =
      m[3] === "+Inf" ? Number.POSITIVE_INFINITY : m[3] === "-Inf" ? Number.NEGATIVE_INFINITY : Number(m[3]);
    if (Number.isNaN(value) && m[3] !== "NaN") throw new Error(`bad value in: ${line}`);
    const family = m[1]!.replace(/_(bucket|sum|count)$/, "");
    if (!types.has(m[1]!) && !types.has(family)) throw new Error(`sample without # TYPE: ${line}`);
    out.push({ name: m[1]!, labels, value });
  }
  return out;
}
