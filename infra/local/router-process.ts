import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { routerName } from "../../lib/resource-names";
import { freePort, portIsFree } from "../../lib/runtime/free-port";
import { stateDir as defaultStateDir, PROJECT_ROOT } from "../../lib/runtime/paths";
import { isAlive, signalGroup, spawnDetached, tailLog } from "../../lib/runtime/process-group";
import { privateDir } from "./instance-user";
import { haproxyFiles } from "./router/haproxy-config";
import { runningHaproxyPid } from "./router/haproxy-process";
import { loadTable } from "./router/routing-table";
import { haproxyPidsOn, killStrayControlProcesses } from "./stray-routers";

/**
 * Lifecycle of the local router as a platform process (not a Pulumi stack):
 * its control process (infra/local/router/main.ts: admin API, statistics,
 * the persisted table) with HAProxy, the data plane, as its child in the same
 * process group.
 *
 * Choice: the router outlives every deployment — it IS blue's front door and
 * holds the split between deployments — so it is not part of any version
 * stack, and a Pulumi stack of its own would add an engine run to every
 * `dev`/`demo` start for one process. It is started by the dev stack / demo
 * (and the integration tests) through `ensureRouterProcess(name)`: one
 * detached router per service+environment, `name` = `routerNameFor(scope)`
 * (readable part and a hash of the exact service and environment).
 *
 * Everything lives under `<state>/router/<name>/`:
 *   process.json  pid, ports, URLs, token (mode 0600) — how other processes
 *                 (worker, CLI) find the router;
 *   routes.json   the router's persisted routing table (survives restarts);
 *   haproxy/      HAProxy's generated config, maps, Runtime API socket, pidfile;
 *   router.log    its output (HAProxy's messages included).
 * `ensureRouterProcess` is idempotent: a live, healthy router is reused; a
 * dead one is restarted on the same ports when they are free, so URLs stay
 * stable and the split comes back from routes.json.
 */
export interface RouterProcessInfo {
  name: string;
  pid: number;
  port: number;
  adminPort: number;
  url: string;
  adminUrl: string;
  token: string;
  routesFile: string;
  logFile: string;
  startedAt: string;
  /** Set by stopRouterProcess; ports and token are reused by the next start. */
  stoppedAt?: string;
  /** The service and environment it routes (routers started by earlier releases lack it until claimed). */
  scope?: Scope;
}

type Scope = { service: string; environment: string };

export interface RouterProcessOptions {
  port?: number;
  adminPort?: number;
  /** Admin token; default SHIPSHAPE_ROUTER_TOKEN, else the previous one, else random. */
  token?: string;
  healthIntervalMs?: number;
  startTimeoutMs?: number;
  /** Extra CLI flags for infra/local/router/main.ts. */
  extraArgs?: string[];
  /** The state folder the router's files live under (the worker passes its own). */
  stateDir?: string;
  /** The service and environment it routes, recorded in process.json (see resolveRouterName). */
  scope?: Scope;
}

export function routerProcessDir(name: string, stateDir: string = defaultStateDir()): string {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) throw new Error(`router name "${name}" must match [a-z0-9-]+`);
  return path.join(stateDir, "router", name);
}

function infoFile(name: string, stateDir?: string): string {
  return path.join(routerProcessDir(name, stateDir), "process.json");
}

export function readRouterProcess(name: string, stateDir?: string): RouterProcessInfo | undefined {
  try {
    return JSON.parse(fs.readFileSync(infoFile(name, stateDir), "utf8")) as RouterProcessInfo;
  } catch {
    return undefined;
  }
}

/** Guards against a recycled pid: the router's environment carries its token (Linux /proc). */
function isOurRouter(info: RouterProcessInfo): boolean {
  if (!fs.existsSync("/proc/self/environ")) return true;
  try {
    return fs
      .readFileSync(`/proc/${info.pid}/environ`, "latin1")
      .split("\0")
      .includes(`SHIPSHAPE_ROUTER_TOKEN=${info.token}`);
  } catch {
    return false;
  }
}

async function healthz(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}

export async function routerProcessHealth(
  name: string,
  stateDir?: string,
): Promise<{ running: boolean; healthy: boolean; info?: RouterProcessInfo }> {
  const info = readRouterProcess(name, stateDir);
  if (!info) return { running: false, healthy: false };
  const running = info.pid > 0 && !info.stoppedAt && isAlive(info.pid) && isOurRouter(info);
  return {
    running,
    healthy: running && (await healthz(info.adminUrl)) && !(await portIsFree(info.port)),
    info,
  };
}

/** The pid of the HAProxy serving router `name`, if one runs (with or without its control process). */
export function routerHaproxyPid(name: string, stateDir?: string): number | undefined {
  return runningHaproxyPid(haproxyFiles(path.join(routerProcessDir(name, stateDir), "haproxy")));
}

/** Starts the router for `name` unless a healthy one is already running; returns how to reach it. */
export async function ensureRouterProcess(
  name: string,
  opts: RouterProcessOptions = {},
): Promise<RouterProcessInfo> {
  const h = await routerProcessHealth(name, opts.stateDir);
  if (h.healthy && h.info) {
    if (!opts.scope || h.info.scope) return h.info;
    const claimed = { ...h.info, scope: opts.scope };
    writeInfo(claimed, opts.stateDir);
    return claimed;
  }
  // alive but not answering: restart
  if (h.running && h.info) await stopRouterProcess(name, { stateDir: opts.stateDir });

  const prev = h.info;
  const dir = routerProcessDir(name, opts.stateDir);
  const routesFile = path.join(dir, "routes.json");
  // A control process a killed starter never recorded must not run on beside
  // the new one; its HAProxy is taken over below like any orphaned one.
  await killStrayControlProcesses(routesFile);
  // Its admin token and the override token live here: the worker's user only (instances run as another).
  privateDir(dir);
  const reuse = async (p: number | undefined) => (p && (await portIsFree(p)) ? p : undefined);
  // An HAProxy left serving by a control process that died keeps the proxy port;
  // the new control process takes that listening socket over (no refused connection).
  const orphan = routerHaproxyPid(name, opts.stateDir);
  // Another HAProxy on this router's config cannot be taken over: it finishes what it serves.
  const config = haproxyFiles(path.join(dir, "haproxy")).config;
  await Promise.all(haproxyPidsOn(config).flatMap((p) => (p === orphan ? [] : [stopPid(p, 10_000)])));
  const port =
    opts.port ?? (orphan && prev ? prev.port : undefined) ?? (await reuse(prev?.port)) ?? (await freePort());
  let adminPort = opts.adminPort ?? (await reuse(prev?.adminPort)) ?? (await freePort());
  while (adminPort === port) adminPort = await freePort();
  const token =
    opts.token ?? process.env.SHIPSHAPE_ROUTER_TOKEN ?? prev?.token ?? randomBytes(24).toString("hex");
  const logFile = path.join(dir, "router.log");
  const args = [
    path.join(PROJECT_ROOT, "infra", "local", "router", "main.ts"),
    "--port",
    String(port),
    "--admin-port",
    String(adminPort),
    "--state-file",
    routesFile,
    "--health-interval-ms",
    String(opts.healthIntervalMs ?? 500),
    ...(opts.extraArgs ?? []),
  ];
  const proc = spawnDetached(path.join(PROJECT_ROOT, "node_modules", ".bin", "tsx"), args, {
    logFile,
    cwd: PROJECT_ROOT,
    env: { ...process.env, SHIPSHAPE_ROUTER_TOKEN: token },
  });
  proc.child.unref();
  const info: RouterProcessInfo = {
    name,
    pid: proc.pid,
    port,
    adminPort,
    url: `http://127.0.0.1:${port}`,
    adminUrl: `http://127.0.0.1:${adminPort}`,
    token,
    routesFile,
    logFile,
    startedAt: new Date().toISOString(),
    ...(opts.scope ? { scope: opts.scope } : prev?.scope ? { scope: prev.scope } : {}),
  };
  const deadline = Date.now() + (opts.startTimeoutMs ?? 20_000);
  while (!(await healthz(info.adminUrl)) || (await portIsFree(port))) {
    if (!isAlive(proc.pid) || Date.now() > deadline) {
      signalGroup(proc.pid, "SIGKILL");
      throw new Error(`router "${name}" did not start:\n${tailLog(logFile)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  writeInfo(info, opts.stateDir);
  return info;
}

function writeInfo(info: RouterProcessInfo, stateDir?: string): void {
  const tmp = `${infoFile(info.name, stateDir)}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(info, null, 2), { mode: 0o600 });
  fs.renameSync(tmp, infoFile(info.name, stateDir));
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * SIGTERM to the control process (it soft-stops HAProxy: in-flight requests
 * finish), SIGKILL to the whole group after graceMs, wait until both ports are
 * free. Control processes no process.json records (stray-routers.ts) and any
 * HAProxy left on this router's config are stopped too. Keeps
 * routes.json unless `purge`. No-op when not running.
 */
export async function stopRouterProcess(
  name: string,
  {
    graceMs = 10_000,
    purge = false,
    stateDir,
  }: { graceMs?: number; purge?: boolean; stateDir?: string } = {},
): Promise<{ stopped: boolean }> {
  const info = readRouterProcess(name, stateDir);
  let stopped = false;
  if (info && info.pid > 0 && !info.stoppedAt && groupAlive(info.pid) && isOurRouter(info)) {
    stopped = true;
    // The leader only: HAProxy takes SIGTERM as "stop now", its control process drains it first.
    try {
      process.kill(info.pid, "SIGTERM");
    } catch {
      // leader already gone; the group is handled below
    }
    const deadline = Date.now() + graceMs;
    while (groupAlive(info.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    if (groupAlive(info.pid)) signalGroup(info.pid, "SIGKILL");
    const hard = Date.now() + 5000;
    while (groupAlive(info.pid) && Date.now() < hard) await new Promise((r) => setTimeout(r, 50));
  }
  const dir = routerProcessDir(name, stateDir);
  // Before any HAProxy: a control process nothing records would start its HAProxy again.
  if ((await killStrayControlProcesses(path.join(dir, "routes.json"))).length > 0) stopped = true;
  // Orphaned HAProxies: the pidfile's and any other on this router's config.
  const haproxies = haproxyPidsOn(haproxyFiles(path.join(dir, "haproxy")).config);
  if (haproxies.length > 0) {
    stopped = true;
    await Promise.all(haproxies.map((p) => stopPid(p, graceMs)));
  }
  if (info) {
    const portDeadline = Date.now() + 10_000;
    for (const p of [info.port, info.adminPort]) {
      while (!(await portIsFree(p)) && Date.now() < portDeadline)
        await new Promise((r) => setTimeout(r, 100));
    }
  }
  if (purge) fs.rmSync(routerProcessDir(name, stateDir), { recursive: true, force: true });
  else if (info) writeInfo({ ...info, stoppedAt: new Date().toISOString() }, stateDir);
  return { stopped };
}

/** SIGUSR1 (HAProxy's soft stop), SIGKILL after graceMs. */
async function stopPid(pid: number, graceMs: number): Promise<void> {
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(pid, sig);
    } catch {
      // gone
    }
  };
  signal("SIGUSR1");
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (isAlive(pid)) signal("SIGKILL");
  while (isAlive(pid)) await new Promise((r) => setTimeout(r, 20));
}

/**
 * The token a tester sends in `x-shipshape-override-token` (with
 * `x-shipshape-version: green`) to reach green before it has traffic; it
 * changes with every new green version (one per deployment).
 */
export async function routerOverrideToken(name: string, stateDir?: string): Promise<string | undefined> {
  return (await loadTable(path.join(routerProcessDir(name, stateDir), "routes.json")))?.overrideToken;
}

/** Router name of a service+environment: a readable part and a hash of both (lib/resource-names.ts). */
export function routerNameFor(scope: Scope): string {
  return routerName(scope);
}

/**
 * The name routers had before names carried a hash: `<service>-<env>`
 * sanitised, shared by `shop/prod-eu` and `shop-prod/eu`. Only read, to find
 * routers started under it.
 */
export function legacyRouterNameFor(scope: Scope): string {
  return `${scope.service}-${scope.environment}`
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/-+/g, "-")
    .replace(/^-|-$/g, "");
}

const sameScope = (a: Scope, b: Scope) => a.service === b.service && a.environment === b.environment;

/**
 * The router of `scope` in `stateDir`: its own name once that router exists;
 * else a router started under the legacy name, kept rather than replaced
 * because it holds the serving split and the environment's listen port, when
 * it records this scope or records none (started by an earlier release:
 * the first scope to use it claims it, see ensureRouterProcess; a scope that
 * shared it before hashes existed cannot be told apart); else its own name.
 */
export function resolveRouterName(scope: Scope, stateDir?: string): string {
  const own = routerNameFor(scope);
  if (fs.existsSync(routerProcessDir(own, stateDir))) return own;
  const legacy = legacyRouterNameFor(scope);
  if (!/^[a-z0-9][a-z0-9-]*$/.test(legacy) || !fs.existsSync(routerProcessDir(legacy, stateDir))) return own;
  const recorded = readRouterProcess(legacy, stateDir)?.scope;
  return !recorded || sameScope(recorded, scope) ? legacy : own;
}

/**
 * For `createLocalTrafficRouter(routerResolver())` in the worker: finds the
 * router of a scope through its process.json (started by the dev stack / demo).
 */
export function routerResolver(stateDir?: string): (scope: Scope) => {
  adminUrl: string;
  token: string;
} {
  return (scope) => {
    const info = readRouterProcess(resolveRouterName(scope, stateDir), stateDir);
    if (!info || info.stoppedAt) {
      throw new Error(
        `no local router for ${scope.service}/${scope.environment}: start it with ` +
          `\`tsx infra/local/router-process.ts start ${routerNameFor(scope)}\``,
      );
    }
    return { adminUrl: info.adminUrl, token: info.token };
  };
}

// CLI: tsx infra/local/router-process.ts start|stop|status|override-token <name> [--purge]
if (require.main === module) {
  const [cmd, name, flag] = process.argv.slice(2);
  const run = async () => {
    if (!name || !["start", "stop", "status", "override-token"].includes(cmd ?? "")) {
      process.stderr.write(
        "usage: tsx infra/local/router-process.ts start|stop|status|override-token <service-env> [--purge]\n",
      );
      process.exit(2);
    }
    if (cmd === "override-token") {
      const token = await routerOverrideToken(name);
      if (!token) throw new Error(`router "${name}" has no routing table yet (start it first)`);
      process.stdout.write(`${token}\n`);
      return;
    }
    if (cmd === "start") {
      const info = await ensureRouterProcess(name);
      process.stdout.write(`${JSON.stringify({ ...info, token: "(in process.json)" }, null, 2)}\n`);
    } else if (cmd === "stop") {
      process.stdout.write(
        `${JSON.stringify(await stopRouterProcess(name, { purge: flag === "--purge" }))}\n`,
      );
    } else {
      const h = await routerProcessHealth(name);
      process.stdout.write(
        `${JSON.stringify({ running: h.running, healthy: h.healthy, url: h.info?.url })}\n`,
      );
      process.exit(h.healthy ? 0 : 1);
    }
  };
  run().catch((err) => {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(1);
  });
}
