// The sample shop: a small HTTP service on PostgreSQL (products, carts,
// orders) that Shipshape deploys in the demo and the integration tests.
// Plain Node (CommonJS), `pg` and `prom-client`.
//
// Schema. The real schema comes from the migrations in ./migrations (the
// parallel-schema engine in lib/migrations gives each version its own
// search_path, so every query here uses unqualified table names). The queries
// match the initial schema:
//   products(id bigserial pk, name text not null, price numeric(10,2) not null default 0, description text, sku text)
//   carts(id text pk, created_at timestamptz)
//   cart_items(cart_id text → carts, product_id bigint → products, quantity int, pk(cart_id, product_id))
//   orders(id bigserial pk, cart_id text, total numeric(12,2), items int, version text, created_at timestamptz)
// With SHOP_AUTO_SCHEMA=1 the server creates exactly these tables if missing
// (and seeds a few products when `products` is empty) under an advisory lock,
// so several instances can start at once. Without it, a missing table makes
// /health fail — the deployment's verification then stops the release.
//
// Environment:
//   PORT                   listen port (127.0.0.1); default from SHOP_CONFIG's "port", else 3000
//   DATABASE_URL           PostgreSQL URL (required)
//   SHIPSHAPE_VERSION      version label (responses, metrics); default "dev"
//   SHOP_CONFIG            app config JSON (examples/shop/config/app.json): catalog.pageSize, checkout.maxItems
//   SHOP_AUTO_SCHEMA=1     create the tables above if missing
// Demo knobs:
//   SHOP_DEFECT            a release defect by name, on a path only real shoppers take (see DEFECTS):
//                          payment-currency — the payment request omits the currency, the provider
//                          rejects every payment: POST /api/checkout answers 502
//   SHOP_ERROR_RATE        fraction 0..1 of /api requests answered 500
//   SHOP_EXTRA_LATENCY_MS  added to every /api request
//   SHOP_FAIL_START=1      exit(1) during startup (a version that never becomes healthy)
//   SHOP_UNHEALTHY_FILE    while this file exists (all instances) or `<file>.<PORT>` exists (that
//                          instance), /health answers 503: flip instances unhealthy at runtime
//
// Endpoints:
//   GET  /health                     200 {status:"ok",version} when the DB answers, else 503
//   GET  /metrics                    Prometheus text
//   GET  /api/products               {"items":[...], version}
//   GET  /api/products/:id
//   GET  /api/search?q=term          {"items":[...], query, version} (counts searches, zero-result searches)
//   GET  /api/carts/:cartId          view a cart (counts cart_view_total)
//   POST /api/carts/:cartId/items    {productId, quantity} (counts cart adds)
//   POST /api/checkout               {cartId} → payment, then the order (counts checkout_total, revenue;
//                                    a declined payment is a 502 and counts a payment failure)
//   GET  /api/orders/:id
// Every response carries x-shop-version and x-shop-instance (port) headers.

const http = require("node:http");
const fs = require("node:fs");
const { Pool } = require("pg");
const client = require("prom-client");

const VERSION = process.env.SHIPSHAPE_VERSION || "dev";
const ERROR_RATE = Number(process.env.SHOP_ERROR_RATE || 0);
const EXTRA_LATENCY_MS = Number(process.env.SHOP_EXTRA_LATENCY_MS || 0);
const UNHEALTHY_FILE = process.env.SHOP_UNHEALTHY_FILE || "";

function log(event, fields) {
  process.stdout.write(
    `${JSON.stringify({ at: new Date().toISOString(), event, version: VERSION, ...fields })}\n`,
  );
}

function loadConfig() {
  const file = process.env.SHOP_CONFIG;
  if (!file) return {};
  try {
    return JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (err) {
    log("config-unreadable", { file, error: err.message });
    return {};
  }
}

const config = loadConfig();
const PORT = Number(process.env.PORT || config.port || 3000);
const PAGE_SIZE = Number(config.catalog?.pageSize || 20);
const MAX_ITEMS = Number(config.checkout?.maxItems || 50);
const CURRENCY = String(config.catalog?.currency || "EUR");

// Release defects the demo ships on purpose. Each lives on a path the
// release's smoke checks (/health, /api/products) never take, so only real
// shoppers find it — which is what canary analysis is for.
const DEFECTS = {
  "payment-currency": "the payment request omits the currency; the provider rejects every payment",
};
const DEFECT = process.env.SHOP_DEFECT || "";
if (DEFECT && !Object.hasOwn(DEFECTS, DEFECT)) {
  log("fail-start", { reason: `unknown SHOP_DEFECT "${DEFECT}"; known: ${Object.keys(DEFECTS).join(", ")}` });
  process.exit(1);
}

if (process.env.SHOP_FAIL_START === "1") {
  log("fail-start", { reason: "SHOP_FAIL_START=1" });
  process.exit(1);
}
if (!process.env.DATABASE_URL) {
  log("fail-start", { reason: "DATABASE_URL is not set" });
  process.exit(1);
}

// A generous connection timeout: on a busy machine waiting for a connection
// is slow, not broken — the wait is measured (db_pool_wait_seconds) and
// judged by analysis instead of turning into 500s.
const pool = new Pool({
  connectionString: process.env.DATABASE_URL,
  max: 10,
  connectionTimeoutMillis: 10_000,
});
pool.on("error", (err) => log("pool-error", { error: err.message }));

// ---------------------------------------------------------------- metrics
// Every series carries the version (and the service): analysis compares
// green's series against blue's with `version="$version"`. Process metrics
// (CPU, memory, event-loop lag) are prom-client's defaults.
const registry = new client.Registry();
registry.setDefaultLabels({ service: "shop", version: VERSION });
client.collectDefaultMetrics({ register: registry });
const counter = (name, help, labelNames = ["version"]) =>
  new client.Counter({ name, help, labelNames, registers: [registry] });
const requests = counter("http_requests_total", "HTTP requests by route and status", [
  "version",
  "route",
  "method",
  "status",
]);
const duration = new client.Histogram({
  name: "http_request_duration_seconds",
  help: "HTTP request duration",
  labelNames: ["version", "route"],
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  registers: [registry],
});
const poolWait = new client.Histogram({
  name: "db_pool_wait_seconds",
  help: "Time a request waited for a database connection from the pool",
  labelNames: ["version"],
  buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  registers: [registry],
});
const business = {
  searches: counter("shop_searches_total", "Catalogue searches"),
  zeroResults: counter("shop_search_zero_results_total", "Searches that found nothing"),
  cartAdds: counter("shop_cart_adds_total", "Products added to a cart"),
  cartViews: counter("cart_view_total", "Cart views"),
  checkoutAttempts: counter("shop_checkout_attempts_total", "Checkouts of a non-empty cart (paid or not)"),
  checkouts: counter("checkout_total", "Completed checkouts: orders placed"),
  revenue: counter("shop_revenue_total", "Value of the orders placed (currency of the catalogue)"),
  paymentFailures: counter("shop_payment_failures_total", "Checkouts whose payment was declined"),
  injectedErrors: counter("shop_injected_errors_total", "5xx answers injected by SHOP_ERROR_RATE"),
};
// Zero-valued series from the start: "no payment failures" must read 0, not "no data".
for (const c of Object.values(business)) c.inc({ version: VERSION }, 0);
poolWait.zero({ version: VERSION });

// ---------------------------------------------------------------- schema
const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS products (
  id bigserial PRIMARY KEY,
  name text NOT NULL,
  price numeric(10,2) NOT NULL DEFAULT 0,
  description text,
  sku text
);
CREATE TABLE IF NOT EXISTS carts (
  id text PRIMARY KEY,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS cart_items (
  cart_id text NOT NULL REFERENCES carts(id) ON DELETE CASCADE,
  product_id bigint NOT NULL REFERENCES products(id),
  quantity integer NOT NULL CHECK (quantity > 0),
  PRIMARY KEY (cart_id, product_id)
);
CREATE TABLE IF NOT EXISTS orders (
  id bigserial PRIMARY KEY,
  cart_id text NOT NULL,
  total numeric(12,2) NOT NULL,
  items integer NOT NULL,
  version text,
  created_at timestamptz NOT NULL DEFAULT now()
);`;

const SEED = [
  ["Espresso beans 1kg", 18.5, "Dark roast", "SKU-ESP-1"],
  ["Filter papers", 3.2, "Pack of 100", "SKU-FIL-100"],
  ["Hand grinder", 49.0, "Ceramic burrs", "SKU-GRD-1"],
  ["Milk jug", 12.9, "Stainless steel, 600 ml", "SKU-JUG-600"],
  ["Travel mug", 15.0, "Keeps it hot for 4 h", "SKU-MUG-T"],
  ["Descaler", 7.5, "For espresso machines", "SKU-DSC-1"],
];

async function autoSchema() {
  const c = await connect();
  try {
    await c.query("SELECT pg_advisory_lock(727274)");
    await c.query(SCHEMA_SQL);
    const { rows } = await c.query("SELECT count(*)::int AS n FROM products");
    if (rows[0].n === 0) {
      for (const [name, price, description, sku] of SEED) {
        await c.query("INSERT INTO products (name, price, description, sku) VALUES ($1, $2, $3, $4)", [
          name,
          price,
          description,
          sku,
        ]);
      }
    }
  } finally {
    await c.query("SELECT pg_advisory_unlock(727274)").catch(() => undefined);
    c.release();
  }
}

// ---------------------------------------------------------------- http helpers
function send(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

function readJson(req) {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks = [];
    req.on("data", (c) => {
      size += c.length;
      if (size > 64 * 1024) {
        reject(Object.assign(new Error("body too large"), { status: 413 }));
        req.destroy();
      } else chunks.push(c);
    });
    req.on("end", () => {
      if (chunks.length === 0) return resolve({});
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")));
      } catch {
        reject(Object.assign(new Error("invalid JSON body"), { status: 400 }));
      }
    });
    req.on("error", reject);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const product = (r) => ({ id: Number(r.id), name: r.name, price: Number(r.price), sku: r.sku });

// ---------------------------------------------------------------- database
/** A pooled connection; the time spent waiting for it is observed (db_pool_wait_seconds). */
async function connect() {
  const stopTimer = poolWait.startTimer({ version: VERSION });
  const c = await pool.connect();
  stopTimer();
  return c;
}

async function query(sql, params) {
  const c = await connect();
  try {
    return await c.query(sql, params);
  } finally {
    c.release();
  }
}

/** Runs `fn(client)` in a transaction; `fn` may answer early by returning after a ROLLBACK. */
async function transaction(fn) {
  const c = await connect();
  try {
    await c.query("BEGIN");
    const out = await fn(c);
    await c.query("COMMIT");
    return out;
  } catch (err) {
    await c.query("ROLLBACK").catch(() => undefined);
    throw err;
  } finally {
    c.release();
  }
}

class Answer extends Error {
  constructor(status, body) {
    super(body.error);
    this.status = status;
    this.body = body;
  }
}

// ---------------------------------------------------------------- payment
/**
 * The payment provider, in process: it authorises a charge of `amount` in
 * `currency`. It declines a request without a currency — which is what a
 * version with SHOP_DEFECT=payment-currency sends.
 */
function authorisePayment(charge) {
  if (!charge.currency) return { ok: false, reason: "currency missing from the payment request" };
  if (!(charge.amount > 0)) return { ok: false, reason: `invalid amount ${charge.amount}` };
  return { ok: true, reference: `pay-${VERSION}-${Date.now().toString(36)}` };
}

function paymentRequest(total) {
  const charge = { amount: Math.round(total * 100) / 100, currency: CURRENCY };
  if (DEFECT === "payment-currency") delete charge.currency;
  return charge;
}

// ---------------------------------------------------------------- handlers
async function health(_req, res) {
  if (UNHEALTHY_FILE && (fs.existsSync(UNHEALTHY_FILE) || fs.existsSync(`${UNHEALTHY_FILE}.${PORT}`))) {
    return send(res, 503, { status: "unhealthy", reason: "SHOP_UNHEALTHY_FILE present", version: VERSION });
  }
  try {
    await query("SELECT 1 FROM products LIMIT 1");
    send(res, 200, { status: "ok", version: VERSION });
  } catch (err) {
    send(res, 503, { status: "unhealthy", reason: err.message, version: VERSION });
  }
}

async function listProducts(_req, res) {
  const { rows } = await query("SELECT id, name, price, sku FROM products ORDER BY id LIMIT $1", [PAGE_SIZE]);
  send(res, 200, { items: rows.map(product), version: VERSION });
}

async function getProduct(_req, res, id) {
  const { rows } = await query("SELECT id, name, price, sku FROM products WHERE id = $1", [id]);
  if (rows.length === 0) return send(res, 404, { error: "no such product" });
  send(res, 200, { ...product(rows[0]), version: VERSION });
}

async function search(req, res) {
  const term = (new URL(req.url, "http://shop").searchParams.get("q") || "").trim().slice(0, 100);
  if (!term) return send(res, 400, { error: "q (the search term) is required" });
  const pattern = `%${term.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
  const { rows } = await query(
    "SELECT id, name, price, sku FROM products WHERE name ILIKE $1 OR description ILIKE $1 ORDER BY id LIMIT $2",
    [pattern, PAGE_SIZE],
  );
  business.searches.inc({ version: VERSION });
  if (rows.length === 0) business.zeroResults.inc({ version: VERSION });
  send(res, 200, { query: term, items: rows.map(product), version: VERSION });
}

async function cartContents(cartId) {
  const { rows } = await query(
    `SELECT p.id, p.name, p.price, p.sku, ci.quantity
       FROM cart_items ci JOIN products p ON p.id = ci.product_id
      WHERE ci.cart_id = $1 ORDER BY p.id`,
    [cartId],
  );
  const items = rows.map((r) => ({ ...product(r), quantity: r.quantity }));
  const total = Math.round(items.reduce((s, i) => s + i.price * i.quantity, 0) * 100) / 100;
  return { items, total };
}

async function viewCart(_req, res, cartId) {
  const cart = await cartContents(cartId);
  business.cartViews.inc({ version: VERSION });
  send(res, 200, { cartId, ...cart, version: VERSION });
}

async function addToCart(req, res, cartId) {
  const body = await readJson(req);
  const productId = Number(body.productId);
  const quantity = Number(body.quantity ?? 1);
  if (!Number.isInteger(productId) || !Number.isInteger(quantity) || quantity < 1 || quantity > MAX_ITEMS) {
    return send(res, 400, { error: `productId must be an integer and quantity 1..${MAX_ITEMS}` });
  }
  await transaction(async (c) => {
    await c.query("INSERT INTO carts (id) VALUES ($1) ON CONFLICT (id) DO NOTHING", [cartId]);
    const exists = await c.query("SELECT 1 FROM products WHERE id = $1", [productId]);
    if (exists.rowCount === 0) throw new Answer(404, { error: "no such product" });
    await c.query(
      `INSERT INTO cart_items (cart_id, product_id, quantity) VALUES ($1, $2, $3)
       ON CONFLICT (cart_id, product_id) DO UPDATE SET quantity = LEAST(cart_items.quantity + EXCLUDED.quantity, $4)`,
      [cartId, productId, quantity, MAX_ITEMS],
    );
  });
  business.cartAdds.inc({ version: VERSION });
  send(res, 201, { cartId, ...(await cartContents(cartId)), version: VERSION });
}

/**
 * Pays for the cart and turns it into an order, in one transaction: a
 * declined payment leaves the cart as it was. A started checkout is counted
 * with its outcome, in the same synchronous step (a scrape never sees a
 * checkout started but not yet finished): paid → an order, declined → a
 * payment failure, anything else → neither.
 */
async function placeOrder(cartId) {
  let started = false;
  let declined = false;
  try {
    const order = await transaction(async (c) => {
      const { rows } = await c.query(
        `SELECT ci.quantity, p.price FROM cart_items ci JOIN products p ON p.id = ci.product_id
          WHERE ci.cart_id = $1 FOR UPDATE OF ci`,
        [cartId],
      );
      if (rows.length === 0) throw new Answer(409, { error: "cart is empty" });
      started = true;
      const items = rows.reduce((s, r) => s + r.quantity, 0);
      const total = rows.reduce((s, r) => s + Number(r.price) * r.quantity, 0);
      const payment = authorisePayment(paymentRequest(total));
      if (!payment.ok) {
        declined = true;
        throw new Answer(502, { error: `payment declined: ${payment.reason}`, version: VERSION });
      }
      const ins = await c.query(
        "INSERT INTO orders (cart_id, total, items, version) VALUES ($1, $2, $3, $4) RETURNING id, total, items",
        [cartId, total.toFixed(2), items, VERSION],
      );
      await c.query("DELETE FROM cart_items WHERE cart_id = $1", [cartId]);
      return { ...ins.rows[0], payment: payment.reference };
    });
    business.checkouts.inc({ version: VERSION });
    business.revenue.inc({ version: VERSION }, Number(order.total));
    return order;
  } finally {
    if (started) business.checkoutAttempts.inc({ version: VERSION });
    if (declined) business.paymentFailures.inc({ version: VERSION });
  }
}

async function checkout(req, res) {
  const body = await readJson(req);
  const cartId = typeof body.cartId === "string" ? body.cartId : "";
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(cartId)) return send(res, 400, { error: "cartId required" });
  const order = await placeOrder(cartId);
  send(res, 201, {
    orderId: Number(order.id),
    total: Number(order.total),
    items: order.items,
    payment: order.payment,
    version: VERSION,
  });
}

async function getOrder(_req, res, id) {
  const { rows } = await query(
    "SELECT id, cart_id, total, items, version, created_at FROM orders WHERE id = $1",
    [id],
  );
  if (rows.length === 0) return send(res, 404, { error: "no such order" });
  const r = rows[0];
  send(res, 200, {
    id: Number(r.id),
    cartId: r.cart_id,
    total: Number(r.total),
    items: r.items,
    servedBy: r.version,
    createdAt: r.created_at,
    version: VERSION,
  });
}

const CART = /^\/api\/carts\/([A-Za-z0-9_-]{1,64})$/;
const CART_ITEMS = /^\/api\/carts\/([A-Za-z0-9_-]{1,64})\/items$/;
const PRODUCT = /^\/api\/products\/(\d{1,18})$/;
const ORDER = /^\/api\/orders\/(\d{1,18})$/;

const ROUTES = [
  ["GET", /^\/health$/, "/health", (q, s) => health(q, s)],
  ["GET", /^\/api\/products$/, "/api/products", (q, s) => listProducts(q, s)],
  ["GET", PRODUCT, "/api/products/:id", (q, s, m) => getProduct(q, s, m[1])],
  ["GET", /^\/api\/search$/, "/api/search", (q, s) => search(q, s)],
  ["GET", CART, "/api/carts/:id", (q, s, m) => viewCart(q, s, m[1])],
  ["POST", CART_ITEMS, "/api/carts/:id/items", (q, s, m) => addToCart(q, s, m[1])],
  ["POST", /^\/api\/checkout$/, "/api/checkout", (q, s) => checkout(q, s)],
  ["GET", ORDER, "/api/orders/:id", (q, s, m) => getOrder(q, s, m[1])],
];

/** → [route label, handler(req, res)] or undefined */
function route(method, path) {
  for (const [m, re, label, handler] of ROUTES) {
    if (m !== method) continue;
    const match = re.exec(path);
    if (match) return [label, (q, s) => handler(q, s, match)];
  }
  return undefined;
}

const server = http.createServer(async (req, res) => {
  const started = process.hrtime.bigint();
  const path = (req.url || "/").split("?")[0];
  res.setHeader("x-shop-version", VERSION);
  res.setHeader("x-shop-instance", String(PORT));
  if (req.method === "GET" && path === "/metrics") {
    res.writeHead(200, { "content-type": registry.contentType });
    res.end(await registry.metrics());
    return;
  }
  const found = route(req.method, path);
  const label = found ? found[0] : "unmatched";
  res.on("finish", () => {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    requests.inc({ version: VERSION, route: label, method: req.method, status: String(res.statusCode) });
    duration.observe({ version: VERSION, route: label }, seconds);
  });
  try {
    if (!found) return send(res, 404, { error: "not found" });
    if (label.startsWith("/api/")) {
      if (EXTRA_LATENCY_MS > 0) await sleep(EXTRA_LATENCY_MS);
      if (ERROR_RATE > 0 && Math.random() < ERROR_RATE) {
        business.injectedErrors.inc({ version: VERSION });
        req.resume();
        return send(res, 500, { error: "injected failure (SHOP_ERROR_RATE)", version: VERSION });
      }
    }
    await found[1](req, res);
  } catch (err) {
    if (err instanceof Answer) return send(res, err.status, err.body);
    if (!res.headersSent) send(res, err.status || 500, { error: err.message, version: VERSION });
    else res.destroy();
    if (!err.status) log("request-error", { path, error: err.message });
  }
});
server.keepAliveTimeout = 65_000;

async function main() {
  if (process.env.SHOP_AUTO_SCHEMA === "1") await autoSchema();
  server.listen(PORT, "127.0.0.1", () => log("listening", { port: PORT }));
}

let stopping = false;
function stop(signal) {
  if (stopping) return;
  stopping = true;
  log("stopping", { signal });
  server.close(() => pool.end().finally(() => process.exit(0)));
  server.closeIdleConnections?.();
  setTimeout(() => process.exit(0), 5000).unref();
}
process.on("SIGTERM", () => stop("SIGTERM"));
process.on("SIGINT", () => stop("SIGINT"));

main().catch((err) => {
  log("fail-start", { error: err.message });
  process.exit(1);
});
