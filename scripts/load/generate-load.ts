// Load generator: realistic mixed shop traffic through the router.
//
//   npx tsx scripts/load/generate-load.ts --url http://127.0.0.1:8080 \
//     [--duration 30s] [--max-requests 5000] [--concurrency 16] [--rps 50] \
//     [--header x-shipshape-version:green] [--json]
//
// Each virtual user runs shopping sessions (see SHOPPER): browse the
// catalogue, search, sometimes look at a product, add to cart (90%),
// sometimes view the cart, check out (85% of carts). Plain
// fetch (undici, keep-alive) with bounded concurrency and an optional global
// request rate; always bounded by duration AND request count. The report
// counts responses per backend (the router's `x-shipshape-backend` header),
// per version (`x-shop-version`), per status, and errors (5xx + network).

import { parseArgs } from "node:util";

export interface LoadOptions {
  url: string;
  durationMs: number;
  maxRequests: number;
  concurrency: number;
  /** Global request rate limit; undefined = as fast as the concurrency allows. */
  rps?: number;
  headers?: Record<string, string>;
  /** Per-request timeout. */
  timeoutMs?: number;
  random?: () => number;
  /** Stops the run early (the chaos suite runs load for as long as its campaign). */
  signal?: AbortSignal;
  /** Called for every answered or failed request (the chaos suite keeps a timeline). */
  onResponse?: (event: LoadEvent) => void;
}

/** One request as the client saw it. */
export interface LoadEvent {
  /** Epoch ms when the answer (or the failure) arrived. */
  at: number;
  kind: string;
  /** HTTP status, or "network" when no answer came. */
  status: number | "network";
  /** `x-shop-version` (the shop version that answered), if any. */
  version: string | null;
  /** `x-shipshape-backend` (blue/green, set by the router), if any. */
  backend: string | null;
  /** `x-shop-instance` (the port of the instance that answered), if any. */
  instance?: string | null;
  /** Why no answer came (status "network"): the timeout, or the connection error's code. */
  error?: string;
  /**
   * For a connection that failed (status "network"): how long the request ran,
   * and what the socket carried (undici's report), so a log tells a
   * request that never left from one whose answer never came.
   */
  failure?: { elapsedMs: number; localPort?: number; bytesWritten?: number; bytesRead?: number };
  /**
   * A GET or HEAD whose connection closed without any answer was sent once
   * more, as browsers and HTTP clients do for idempotent requests (RFC 9110
   * 9.2.2): the code of that first failure. The answer (or failure) is the retry's.
   */
  retriedAfter?: string;
  /** The parsed JSON body (or null). */
  body: unknown;
}

export interface LoadReport {
  requests: number;
  errors: number;
  networkErrors: number;
  /** Idempotent requests sent a second time after their connection closed without an answer (see LoadEvent.retriedAfter). */
  retriedAfterClose: number;
  errorRate: number;
  durationMs: number;
  achievedRps: number;
  byBackend: Record<string, number>;
  byVersion: Record<string, number>;
  byStatus: Record<string, number>;
  byKind: Record<string, number>;
  latencyMs: { p50: number; p95: number; p99: number; max: number };
  checkouts: number;
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

function emptyReport(): LoadReport {
  return {
    requests: 0,
    errors: 0,
    networkErrors: 0,
    retriedAfterClose: 0,
    errorRate: 0,
    durationMs: 0,
    achievedRps: 0,
    byBackend: {},
    byVersion: {},
    byStatus: {},
    byKind: {},
    latencyMs: { p50: 0, p95: 0, p99: 0, max: 0 },
    checkouts: 0,
  };
}

function finishReport(r: LoadReport, latencies: number[], started: number): LoadReport {
  r.durationMs = Date.now() - started;
  r.achievedRps = Math.round((r.requests / Math.max(1, r.durationMs)) * 1000 * 10) / 10;
  r.errorRate = r.requests === 0 ? 0 : r.errors / r.requests;
  latencies.sort((a, b) => a - b);
  const round = (x: number) => Math.round(x * 100) / 100;
  r.latencyMs = {
    p50: round(quantile(latencies, 0.5)),
    p95: round(quantile(latencies, 0.95)),
    p99: round(quantile(latencies, 0.99)),
    max: round(latencies[latencies.length - 1] ?? 0),
  };
  return r;
}

const inc = (m: Record<string, number>, k: string) => {
  m[k] = (m[k] ?? 0) + 1;
};

/** Reserves request slots (count + rate): resolves false when the run is over. */
function pacer(opts: LoadOptions, started: number): () => Promise<boolean> {
  const deadline = started + opts.durationMs;
  let issued = 0;
  return async () => {
    if (issued >= opts.maxRequests || Date.now() >= deadline || opts.signal?.aborted) return false;
    const n = issued++;
    if (opts.rps) {
      const at = started + (n / opts.rps) * 1000;
      const wait = at - Date.now();
      if (wait > 0) await new Promise((res) => setTimeout(res, wait));
      if (Date.now() >= deadline || opts.signal?.aborted) return false;
    }
    return true;
  };
}

const IDEMPOTENT = new Set(["GET", "HEAD"]);

/** The code of a failure where the connection closed before any answer (a reused keep-alive connection the other side closed), else undefined. */
export function closedWithoutAnswer(err: unknown): string | undefined {
  const code = (err as { cause?: { code?: unknown } } | null)?.cause?.code;
  return code === "UND_ERR_SOCKET" || code === "ECONNRESET" ? code : undefined;
}

type Call = (kind: string, method: string, path: string, body?: unknown) => Promise<unknown>;

/** One request, recorded in the report; the parsed answer of a 2xx, else undefined. Throws Stop when the run is over. */
function caller(opts: LoadOptions, r: LoadReport, latencies: number[], slot: () => Promise<boolean>): Call {
  const base = opts.url.replace(/\/+$/, "");
  const timeoutMs = opts.timeoutMs ?? 10_000;
  return async (kind, method, path, body) => {
    if (!(await slot())) throw new Stop();
    const t0 = performance.now();
    inc(r.byKind, kind);
    r.requests++;
    let retriedAfter: string | undefined;
    const send = () =>
      fetch(`${base}${path}`, {
        method,
        headers: { ...(body ? { "content-type": "application/json" } : {}), ...opts.headers },
        body: body ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(timeoutMs),
      });
    try {
      const res = await send().catch((err: unknown) => {
        const code = closedWithoutAnswer(err);
        if (!code || !IDEMPOTENT.has(method)) throw err;
        retriedAfter = code;
        r.retriedAfterClose++;
        return send();
      });
      const text = await res.text();
      latencies.push(performance.now() - t0);
      const backend = res.headers.get("x-shipshape-backend");
      const version = res.headers.get("x-shop-version");
      inc(r.byStatus, String(res.status));
      inc(r.byBackend, backend ?? "(none)");
      inc(r.byVersion, version ?? "(none)");
      let answer: unknown = null;
      try {
        answer = JSON.parse(text);
      } catch {
        answer = null;
      }
      const instance = res.headers.get("x-shop-instance");
      opts.onResponse?.({
        at: Date.now(),
        kind,
        status: res.status,
        version,
        backend,
        instance,
        body: answer,
        ...(retriedAfter ? { retriedAfter } : {}),
      });
      if (res.status >= 500) r.errors++;
      return res.ok ? (answer ?? undefined) : undefined;
    } catch (err) {
      if (err instanceof Stop) throw err;
      latencies.push(performance.now() - t0);
      r.errors++;
      r.networkErrors++;
      inc(r.byStatus, "network");
      const e = err as { name?: string; cause?: { code?: string } };
      const sock = (
        err as { cause?: { socket?: { localPort?: number; bytesWritten?: number; bytesRead?: number } } }
      ).cause?.socket;
      opts.onResponse?.({
        at: Date.now(),
        kind,
        status: "network",
        version: null,
        backend: null,
        body: null,
        error: e.name === "TimeoutError" ? `timeout ${timeoutMs} ms` : (e.cause?.code ?? e.name ?? "error"),
        failure: {
          elapsedMs: Math.round(performance.now() - t0),
          ...(sock
            ? { localPort: sock.localPort, bytesWritten: sock.bytesWritten, bytesRead: sock.bytesRead }
            : {}),
        },
        ...(retriedAfter ? { retriedAfter } : {}),
      });
      return undefined;
    }
  };
}

/** One shopper's visit (see SHOPPER); true when it ended with an order. */
async function shopperSession(call: Call, random: () => number, cartId: string): Promise<boolean> {
  const catalogue = (await call("browse", "GET", "/api/products")) as { items?: Product[] };
  const term = searchTerm(catalogue?.items ?? [], random);
  const found = (await call("search", "GET", `/api/search?q=${encodeURIComponent(term)}`)) as {
    items?: Product[];
  };
  const items = found?.items?.length ? found.items : (catalogue?.items ?? []);
  const pick = items[Math.floor(random() * items.length)];
  if (!pick) return false;
  if (random() < SHOPPER.viewProduct) await call("product", "GET", `/api/products/${pick.id}`);
  if (random() >= SHOPPER.addToCart) return false;
  await call("add-to-cart", "POST", `/api/carts/${cartId}/items`, {
    productId: pick.id,
    quantity: 1 + Math.floor(random() * 3),
  });
  if (random() < SHOPPER.viewCart) await call("view-cart", "GET", `/api/carts/${cartId}`);
  if (random() >= SHOPPER.checkout) return false;
  const order = (await call("checkout", "POST", "/api/checkout", { cartId })) as { orderId?: number };
  return Boolean(order?.orderId);
}

export async function generateLoad(opts: LoadOptions): Promise<LoadReport> {
  const random = opts.random ?? Math.random;
  const started = Date.now();
  const latencies: number[] = [];
  const r = emptyReport();
  const call = caller(opts, r, latencies, pacer(opts, started));
  const user = async (id: number) => {
    for (let n = 0; ; n++) {
      try {
        if (await shopperSession(call, random, `load-${process.pid}-${id}-${n}`)) r.checkouts++;
      } catch (err) {
        if (err instanceof Stop) return;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency) }, (_, i) => user(i)));
  return finishReport(r, latencies, started);
}

class Stop extends Error {}

interface Product {
  id: number;
  name: string;
}

/**
 * How a shopper behaves (probabilities per session). Every session browses
 * the catalogue and searches; most shoppers buy, so checkouts — the path
 * that only real traffic takes — are a large share of the requests
 * (≈ 18.5 %: 0.77 checkouts in ≈ 4.15 requests per session).
 */
export const SHOPPER = {
  /** A search for something the shop does not sell (zero results). */
  unknownTerm: 0.03,
  viewProduct: 0.3,
  addToCart: 0.9,
  viewCart: 0.2,
  /** Of the shoppers who added to their cart. */
  checkout: 0.85,
} as const;

const UNKNOWN_TERMS = ["teapot", "unicorn", "snorkel", "kettlebell"];

/** A word from a product name the catalogue lists, or (SHOPPER.unknownTerm of the time) one it does not sell. */
export function searchTerm(items: Product[], random: () => number): string {
  const name = items[Math.floor(random() * items.length)]?.name;
  if (!name || random() < SHOPPER.unknownTerm) {
    return UNKNOWN_TERMS[Math.floor(random() * UNKNOWN_TERMS.length)] as string;
  }
  const words = name.split(/\s+/).filter((w) => w.length >= 3);
  return (words[Math.floor(random() * words.length)] ?? name).toLowerCase();
}

function parseDurationMs(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text);
  if (!m) throw new Error(`bad duration "${text}" (use 500ms, 30s, 2m)`);
  const n = Number(m[1]);
  return m[2] === "ms" ? n : m[2] === "m" ? n * 60_000 : n * 1000;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      url: { type: "string" },
      duration: { type: "string", default: "30s" },
      "max-requests": { type: "string", default: "100000" },
      concurrency: { type: "string", default: "16" },
      rps: { type: "string" },
      header: { type: "string", multiple: true },
      json: { type: "boolean" },
    },
  });
  if (!values.url) {
    process.stderr.write("usage: generate-load.ts --url <router url> [--duration 30s] [--max-requests n]\n");
    process.exit(2);
  }
  const headers: Record<string, string> = {};
  for (const h of values.header ?? []) {
    const i = h.indexOf(":");
    if (i <= 0) throw new Error(`--header wants name:value, got "${h}"`);
    headers[h.slice(0, i).trim()] = h.slice(i + 1).trim();
  }
  const report = await generateLoad({
    url: values.url,
    durationMs: parseDurationMs(values.duration ?? "30s"),
    maxRequests: Number(values["max-requests"]),
    concurrency: Number(values.concurrency),
    rps: values.rps ? Number(values.rps) : undefined,
    headers,
  });
  if (values.json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  const fmt = (m: Record<string, number>) =>
    Object.entries(m)
      .map(([k, v]) => `${k}=${v}`)
      .join(" ");
  process.stdout.write(
    `${report.requests} requests in ${report.durationMs} ms (${report.achievedRps} req/s), ` +
      `errors ${report.errors} (${(report.errorRate * 100).toFixed(2)}%, network ${report.networkErrors}; ` +
      `${report.retriedAfterClose} GET(s) sent again after their connection closed without an answer)\n` +
      `  backends: ${fmt(report.byBackend)}\n  versions: ${fmt(report.byVersion)}\n` +
      `  status:   ${fmt(report.byStatus)}\n  kinds:    ${fmt(report.byKind)}\n` +
      `  latency ms: p50 ${report.latencyMs.p50} p95 ${report.latencyMs.p95} p99 ${report.latencyMs.p99} max ${report.latencyMs.max}\n` +
      `  checkouts: ${report.checkouts}\n`,
  );
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(1);
  });
}
