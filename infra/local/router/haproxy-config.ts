import { createHash } from "node:crypto";
import os from "node:os";
import path from "node:path";
import type { HealthOptions } from "./health";
import { BACKEND_NAMES, type BackendName, type RoutingTable } from "./routing-table";

// HAProxy's configuration for one router, generated from the routing table at
// every start of HAProxy (and at a reload). Pure: text in, text out.
//
// How a request is routed (frontend `shipshape`):
//   1. Override: `x-shipshape-version: <blue|green|version label>` is honoured
//      only with the table's token in `x-shipshape-override-token` (a map of
//      valid tokens). Unknown target: 400; target with no healthy instance:
//      503 (never a silent answer from the other release). Override requests
//      are not logged, so they never enter the statistics analysis judges.
//      Without the token the header is ignored and the request is routed like
//      any other.
//   2. Sticky (when on): the cookie `shipshape_backend` keeps a user on a
//      backend while it has weight > 0 and a healthy instance.
//   3. The version first: `rand(10000)` against green's share in basis points
//      (routing.map, set at run time), so the split is exact to 0.01% whatever
//      the instance counts (HAProxy server weights are only 0..256); then
//      round-robin among the healthy instances of that version.
//   4. The drawn backend has no healthy instance: the other one (users are
//      always served, even by a standby at weight 0); neither: 503.
//
// Maps (files beside the config, replaced at run time through the Runtime API):
//   routing.map   green <basis points> / sticky <0|1> / version <table version>
//   override.map  <blue|green|version label> → backend name
//   tokens.map    <override token> → 1

export const FRONTEND = "shipshape";
export const OVERRIDE_HEADER = "x-shipshape-version";
export const OVERRIDE_TOKEN_HEADER = "x-shipshape-override-token";
export const BACKEND_HEADER = "x-shipshape-backend";
export const STICKY_COOKIE = "shipshape_backend";
/** Prefix of request log lines in the log stream (HAProxy also sends its own events there). */
export const REQUEST_LOG_PREFIX = "R";
/** Prefix of the flush marker's line (see the `flush` frontend). */
export const FLUSH_LOG_PREFIX = "F";
export const FLUSH_HEADER = "x-shipshape-flush";

export interface HaproxyFiles {
  dir: string;
  config: string;
  socket: string;
  /** Unix socket of the `flush` frontend (reachable by the control process only). */
  flushSocket: string;
  pidFile: string;
  routingMap: string;
  overrideMap: string;
  tokensMap: string;
}

/**
 * HAProxy refuses unix socket paths longer than 97 bytes (the kernel's limit
 * minus its own suffixes); a deep state folder gets its sockets in the temp folder.
 */
const MAX_SOCKET_PATH = 97;

function socketPath(dir: string, name: string): string {
  const inDir = path.join(dir, `${name}.sock`);
  if (Buffer.byteLength(inDir) <= MAX_SOCKET_PATH) return inDir;
  const id = createHash("sha256").update(path.resolve(dir)).digest("hex").slice(0, 16);
  return path.join(os.tmpdir(), `shipshape-haproxy-${id}-${name}.sock`);
}

export function haproxyFiles(dir: string): HaproxyFiles {
  return {
    dir,
    config: path.join(dir, "haproxy.cfg"),
    socket: socketPath(dir, "admin"),
    flushSocket: socketPath(dir, "flush"),
    pidFile: path.join(dir, "haproxy.pid"),
    routingMap: path.join(dir, "routing.map"),
    overrideMap: path.join(dir, "override.map"),
    tokensMap: path.join(dir, "tokens.map"),
  };
}

export interface HaproxyConfigInput {
  files: HaproxyFiles;
  port: number;
  /** Loopback TCP port of the control process's request-log reader. */
  logSinkPort: number;
  health: HealthOptions | false;
  proxyTimeoutMs: number;
  /** Upper bound of a graceful stop (HAProxy's hard-stop-after). */
  drainTimeoutMs: number;
  threads: number;
  table: RoutingTable;
  /** Instances whose probe failed: written in maintenance, let in later by their checks only. */
  down: ReadonlySet<string>;
}

/** HAProxy server name of an instance URL: its host:port (the characters HAProxy allows). */
export function serverName(instance: string): string {
  const u = new URL(instance);
  return `${u.hostname}:${u.port || "80"}`.replace(/[^A-Za-z0-9_.:-]/g, "_");
}

export function serverAddress(instance: string): string {
  const u = new URL(instance);
  return `${u.hostname}:${u.port || "80"}`;
}

/**
 * Keywords of every server line, static or added at run time (servers added
 * through the Runtime API do not inherit `default-server`, nor the defaults of
 * static servers: without an explicit pool, HAProxy 2.6 opens a new
 * connection to a dynamic server for every request). `observe layer4` with
 * `error-limit 1` ejects an instance on the first refused connection, so a
 * killed process costs at most the request that found out.
 */
export function serverOptions(health: HealthOptions | false): string {
  const pool = "pool-max-conn -1 pool-purge-delay 5s";
  if (!health) return pool;
  const every = `${health.intervalMs}ms`;
  return `${pool} check inter ${every} fastinter ${every} downinter ${every} rise ${health.rise} fall ${health.fall} observe layer4 error-limit 1 on-error mark-down`;
}

/** Green's share in basis points (0..10000); both weights 0: an even split of whoever is healthy. */
export function greenBasisPoints(table: RoutingTable): number {
  const blue = table.backends.blue?.weight ?? 0;
  const green = table.backends.green?.weight ?? 0;
  if (!table.backends.green) return 0;
  if (!table.backends.blue) return 10_000;
  if (blue + green === 0) return 5000;
  return Math.round((green / (blue + green)) * 10_000);
}

export function routingMapEntries(table: RoutingTable): Array<[string, string]> {
  return [
    ["green", String(greenBasisPoints(table))],
    ["sticky", table.sticky ? "1" : "0"],
    // Last: a reader that sees this version knows the entries above are in place.
    ["version", String(table.version)],
  ];
}

/** A version label usable as a map key (no blanks, no CLI separators). */
const MAP_KEY = /^[A-Za-z0-9._:+@/-]+$/;

export function overrideMapEntries(table: RoutingTable): Array<[string, string]> {
  const out: Array<[string, string]> = BACKEND_NAMES.map((n) => [n, n]);
  const blue = table.backends.blue?.version;
  const green = table.backends.green?.version;
  // A version label names a backend only when exactly one backend runs it.
  for (const [name, version] of [
    ["blue", blue],
    ["green", green],
  ] as const) {
    if (version && blue !== green && MAP_KEY.test(version) && !BACKEND_NAMES.includes(version as BackendName))
      out.push([version, name]);
  }
  return out;
}

export function tokensMapEntries(table: RoutingTable): Array<[string, string]> {
  return table.overrideToken ? [[table.overrideToken, "1"]] : [];
}

export function mapFileText(entries: Array<[string, string]>): string {
  return entries.map(([k, v]) => `${k} ${v}\n`).join("");
}

/** A JSON body for a single-quoted HAProxy string (everything inside is literal; no ' in our messages). */
const json = (body: Record<string, string>) => JSON.stringify(body);

function globalSection(i: HaproxyConfigInput): string {
  return `global
  log ring@requests local0 info
  stats socket ${i.files.socket} mode 600 level admin expose-fd listeners
  stats timeout 10m
  nbthread ${i.threads}
  hard-stop-after ${Math.max(1, Math.ceil(i.drainTimeoutMs / 1000))}s

# The request log goes to the control process over loopback TCP; the ring
# keeps what it has not sent yet (a reader restart loses nothing it can hold).
ring requests
  description "request log read by the Shipshape router for its statistics"
  format raw
  maxlen 512
  size 4194304
  timeout connect 1s
  timeout server 1h
  server stats 127.0.0.1:${i.logSinkPort}
`;
}

function defaultsSection(i: HaproxyConfigInput): string {
  const check = i.health ? `\n  timeout check ${i.health.timeoutMs}ms` : "";
  return `defaults
  mode http
  log global
  option dontlognull
  # At a hand-over (-sf) the old HAProxy keeps an idle keep-alive connection
  # open until it has answered one more request (with connection: close)
  # instead of closing it under a client that may be sending on it right then
  # (a "socket hang up" for that client).
  option idle-close-on-response
  # A request may go on an idle connection to the instance that has served
  # one already, whichever client it came from (as nginx's upstream keepalive
  # does); the default ("safe") opened a new connection for about one request
  # in ten (strace at 500 req/s: 258 connects in 5 s, 56 with this).
  http-reuse aggressive
  timeout connect 1s
  timeout client 60s
  timeout http-request 10s
  timeout http-keep-alive 10s
  timeout server ${i.proxyTimeoutMs}ms${check}
  # One retry, on another instance of the same backend (never the other release:
  # that would hide green's failures from the analysis that judges it).
  retries 1
  option redispatch 1
  retry-on conn-failure empty-response
  http-error status 502 content-type application/json string '${json({ error: "backend_unreachable", message: "the instance closed the connection without an answer" })}'
  http-error status 503 content-type application/json string '${json({ error: "backend_unreachable", message: "no instance of the backend accepted the connection" })}'
  http-error status 504 content-type application/json string '${json({ error: "backend_timeout", message: `no answer within ${i.proxyTimeoutMs} ms` })}'
`;
}

function frontendSection(i: HaproxyConfigInput): string {
  const f = i.files;
  const unhealthyOverride = (name: BackendName) =>
    `  http-request return status 503 content-type application/json string '${json({ error: "no_healthy_backend", message: `${OVERRIDE_HEADER}: backend "${name}" has no healthy instance` })}' if override { var(txn.target) -m str ${name} } !${name}_up`;
  return `frontend ${FRONTEND}
  bind 127.0.0.1:${i.port}
  log-format "${REQUEST_LOG_PREFIX} %b %s %ST %[date(0,us),sub(txn.t0)] %ts %rc %cp %[date]"
  http-request set-var(txn.t0) date(0,us)
  acl override_asked req.hdr(${OVERRIDE_HEADER}) -m found
  acl override_allowed req.hdr(${OVERRIDE_TOKEN_HEADER}),map(${f.tokensMap}) -m found
  http-request set-var(txn.target) req.hdr(${OVERRIDE_HEADER}),map(${f.overrideMap}) if override_asked override_allowed
  acl override var(txn.target) -m found
  # An HAProxy handing over (-sf) disables its backends as soon as its listener
  # is gone, so nbsrv() reads 0 for requests still arriving on its open
  # connections: there, the backends count as up (their servers still serve).
  acl blue_up nbsrv(blue) gt 0
  acl blue_up stopping
  acl green_up nbsrv(green) gt 0
  acl green_up stopping
  http-request set-log-level silent if override_asked override_allowed
  http-request return status 400 content-type application/json lf-string '{"error":"bad_override","message":"${OVERRIDE_HEADER}: \\"%[req.hdr(${OVERRIDE_HEADER}),json(utf8s)]\\" names no backend (blue, green, or the version one of them runs)"}' if override_asked override_allowed !override
${unhealthyOverride("blue")}
${unhealthyOverride("green")}
  http-request return status 503 content-type application/json string '${json({ error: "no_healthy_backend", message: "no healthy instance in any backend" })}' if !override !blue_up !green_up
  # The token is for the router, never for the service (after the last rule that reads it).
  http-request del-header ${OVERRIDE_TOKEN_HEADER}
  acl sticky_on str(sticky),map_str_int(${f.routingMap},0) eq 1
  http-request set-var(txn.sticky) int(1) if sticky_on !override
  http-request set-var(txn.cookie) req.cook(${STICKY_COOKIE}) if sticky_on !override
  http-request set-var(txn.green_share) str(green),map_str_int(${f.routingMap},0)
  acl green_weighted var(txn.green_share) -m int gt 0
  acl blue_weighted var(txn.green_share) -m int lt 10000
  acl pinned_blue var(txn.cookie) -m str blue
  acl pinned_green var(txn.cookie) -m str green
  acl draw_green rand(10000),sub(txn.green_share) lt 0
  use_backend %[var(txn.target)] if override
  use_backend green if pinned_green green_weighted green_up
  use_backend blue if pinned_blue blue_weighted blue_up
  use_backend green if draw_green green_up
  use_backend blue if blue_up
  default_backend green
`;
}

/**
 * A request here is logged after every request that ended before it: the
 * ring keeps HAProxy's order, so once the control process reads this marker
 * back, its statistics hold every request a client has already seen
 * answered. Only the control process can reach it (unix socket, mode 600).
 */
function flushSection(i: HaproxyConfigInput): string {
  return `frontend flush
  bind unix@${i.files.flushSocket} mode 600
  log-format "${FLUSH_LOG_PREFIX} %[var(txn.marker)]"
  http-request set-var(txn.marker) req.hdr(${FLUSH_HEADER})
  http-request return status 204
`;
}

function backendSection(i: HaproxyConfigInput, name: BackendName): string {
  const b = i.table.backends[name];
  const healthPath = b?.healthPath ?? (i.health ? i.health.path : "/");
  const opts = serverOptions(i.health);
  const servers = (b?.instances ?? []).map((inst) =>
    `  server ${serverName(inst)} ${serverAddress(inst)} ${opts}${i.down.has(inst) ? " disabled" : ""}`.trimEnd(),
  );
  return `backend ${name}
  balance roundrobin
  ${i.health ? `option httpchk GET ${healthPath}` : "# no health checks"}
  # Replaying a request is only safe when it cannot have changed anything.
  http-request disable-l7-retry if !{ method GET HEAD OPTIONS }
  http-after-response set-header ${BACKEND_HEADER} ${name}
  # HAProxy closes the client connection after these; say so, or a client reusing it fails.
  http-after-response set-header connection close if { status 502 504 }
  http-response add-header set-cookie "${STICKY_COOKIE}=${name}; Path=/; HttpOnly; SameSite=Lax" if { var(txn.sticky) -m int 1 } !{ var(txn.cookie) -m str ${name} }
${servers.join("\n")}
`;
}

export function renderConfig(i: HaproxyConfigInput): string {
  return [
    "# Generated by the Shipshape router from its routing table at every start; do not edit.",
    globalSection(i),
    defaultsSection(i),
    frontendSection(i),
    flushSection(i),
    ...BACKEND_NAMES.map((n) => backendSection(i, n)),
  ].join("\n");
}

/** The health path each backend's checks use (a change needs a reload: it is backend configuration). */
export function healthPaths(table: RoutingTable, health: HealthOptions | false): string {
  if (!health) return "";
  return BACKEND_NAMES.map((n) => table.backends[n]?.healthPath ?? health.path).join(" ");
}
