// Router benchmark: npm run bench -- router
//   npx tsx bench/router.ts [--seconds 24] [--no-nginx] [--no-provision] [--node-router <git ref>]
//
// Side by side in one run, against the same two backend processes (blue and
// green, weighted 90/10):
//   direct       the client picks blue/green itself (90/10) and calls the backend
//   router       the local router: HAProxy driven by its control process (which
//                also reads HAProxy's request log for the statistics), started
//                the way Shipshape starts it (ensureRouterProcess)
//   nginx        nginx (Debian nginx-light from `npm run setup`) with an upstream
//                of the same two servers, weight=9 / weight=1, keepalive, no access log
//   node-router  (--node-router <ref>) the Node proxy the router used to be,
//                taken from git at <ref>; needs http-proxy-3 in node_modules
// Measured: added latency (p50/p99 − direct) at fixed open-loop rates of 500
// and 2,000 req/s over keep-alive connections, CPU per request of each
// proxy's whole process group (the router's includes its statistics reader),
// closed-loop capacity (autocannon, 32 connections), weight-switch latency
// (from the start of PUT /admin/routes to the first answer from the other
// backend, requests flowing meanwhile; and the PUT's own duration), and
// the time to provision and destroy a 2-instance environment. Prints a table,
// writes bench/results/router.json. Bounded: every phase has a fixed duration.
// Every measurement runs in interleaved rounds (direct, router, nginx, direct…:
// 12 of 2 s per rate, 8 of 2.5 s for capacity); each ratio to nginx is given pooled over all
// rounds and as the median of the per-round ratios, which a burst of noise
// from the machine's neighbours spoils one round of, not the whole figure.

import { execFileSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { createLocalInfraDriver } from "../infra/local/driver";
import { RouterClient } from "../infra/local/router/client";
import { BATCH_MS } from "../infra/local/router/request-log";
import { ensureRouterProcess, stopRouterProcess } from "../infra/local/router-process";
import { devPulumiSettings } from "../infra/pulumi/workspace";
import { freePort, waitForPort } from "../lib/runtime/free-port";
import { type DetachedProcess, spawnDetached, stopGroup, tailLog } from "../lib/runtime/process-group";
import { readManifest } from "../lib/runtime/toolchain-manifest";

const { values: args } = parseArgs({
  options: {
    seconds: { type: "string", default: "24" },
    "no-nginx": { type: "boolean" },
    "no-provision": { type: "boolean" },
    "node-router": { type: "string" },
  },
});
const PROJECT_ROOT = path.resolve(__dirname, "..");
const BENCH_STATE = path.join(PROJECT_ROOT, ".shipshape", "bench-router");
const PHASE_MS = Number(args.seconds) * 1000;
const ROUNDS = 12;
const RATES = [500, 2000];
const CAPACITY_SECONDS = 2.5;
const CAPACITY_ROUNDS = 8;
/**
 * Every round of every target ends with a quiet spell counted with it: the
 * router's control process reads HAProxy's request log in batches (BATCH_MS),
 * and without it the lines of a round's last batch would be processed in the
 * next target's round, charged to nobody.
 */
const QUIET_AFTER_ROUND_MS = BATCH_MS + 250;
const BACKEND_JS = `
const http = require("http");
const body = JSON.stringify({ ok: true, name: process.env.NAME });
http.createServer((req, res) => {
  req.resume();
  res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body), "x-bench-backend": process.env.NAME });
  res.end(body);
}).listen(Number(process.env.PORT), "127.0.0.1");
process.on("SIGTERM", () => process.exit(0));
`;

interface LatencyResult {
  target: string;
  /** CPU time of the target's process group(s) per request (µs); direct: of the two backends. */
  cpuMicrosPerRequest?: number;
  rate: number;
  sent: number;
  ok: number;
  errors: number;
  achievedRps: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** Raw latencies (not written to the JSON). */
  raw?: number[];
}

interface Target {
  name: string;
  port: number;
  /** Process groups whose CPU counts for this target. */
  groups: number[];
  /** Admin API when the target is a Shipshape router (current or the old Node one). */
  admin?: AdminApi;
}

/** PUT /admin/routes, which both router generations answer (their views differ: no schema here). */
class AdminApi {
  constructor(
    readonly url: string,
    readonly token: string,
  ) {}
  async setRoutes(patch: unknown): Promise<void> {
    const res = await fetch(`${this.url}/admin/routes`, {
      method: "PUT",
      headers: { authorization: `Bearer ${this.token}`, "content-type": "application/json" },
      body: JSON.stringify(patch),
    });
    if (!res.ok) throw new Error(`PUT /admin/routes: HTTP ${res.status}: ${await res.text()}`);
    await res.arrayBuffer();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;
function pct(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}
function summary(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  return { n: s.length, p50: round(pct(s, 0.5)), p99: round(pct(s, 0.99)), max: round(s[s.length - 1] ?? 0) };
}

/** Interleaved rounds of one target at one rate, pooled into one result. */
function pool(parts: LatencyResult[]): LatencyResult {
  const lat = parts.flatMap((p) => p.raw ?? []).sort((a, b) => a - b);
  const sum = (k: "sent" | "ok" | "errors") => parts.reduce((a, p) => a + p[k], 0);
  const first = parts[0]!;
  return {
    target: first.target,
    rate: first.rate,
    cpuMicrosPerRequest: Math.round(
      parts.reduce((a, p) => a + (p.cpuMicrosPerRequest ?? 0) * p.sent, 0) / Math.max(1, sum("sent")),
    ),
    sent: sum("sent"),
    ok: sum("ok"),
    errors: sum("errors"),
    achievedRps: round(parts.reduce((a, p) => a + p.achievedRps, 0) / parts.length, 1),
    p50: round(pct(lat, 0.5)),
    p90: round(pct(lat, 0.9)),
    p99: round(pct(lat, 0.99)),
    max: round(lat[lat.length - 1] ?? Number.NaN),
  };
}

/** Open-loop load at `rate` req/s for `ms`; ports picked by `pick()`; per-request latency in ms. */
async function fixedRate(
  target: string,
  rate: number,
  ms: number,
  pick: () => number,
): Promise<LatencyResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const lat: number[] = [];
  let sent = 0;
  let ok = 0;
  let errors = 0;
  const start = performance.now();
  const total = Math.floor((rate * ms) / 1000);
  const inflight = new Set<Promise<void>>();
  const one = () => {
    const t0 = performance.now();
    const done = new Promise<void>((resolve) => {
      const req = http.get(
        { host: "127.0.0.1", port: pick(), path: "/api/products", agent, timeout: 5000 },
        (res) => {
          res.resume();
          res.on("end", () => {
            lat.push(performance.now() - t0);
            if (res.statusCode === 200) ok++;
            else errors++;
            resolve();
          });
        },
      );
      req.on("timeout", () => req.destroy(new Error("timeout")));
      req.on("error", () => {
        errors++;
        resolve();
      });
    });
    inflight.add(done);
    void done.then(() => inflight.delete(done));
  };
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate) + 1);
    while (sent < due) {
      sent++;
      one();
    }
    if (performance.now() - start > ms + 2000) break; // cannot keep up: stop, report what was sent
    await sleep(1);
  }
  await Promise.race([Promise.all([...inflight]), sleep(6000)]);
  const elapsed = performance.now() - start;
  agent.destroy();
  lat.sort((a, b) => a - b);
  return {
    target,
    rate,
    sent,
    ok,
    errors,
    achievedRps: round(sent / (elapsed / 1000), 1),
    p50: round(pct(lat, 0.5)),
    p90: round(pct(lat, 0.9)),
    p99: round(pct(lat, 0.99)),
    max: round(lat[lat.length - 1] ?? Number.NaN),
    raw: lat,
  };
}

/**
 * CPU seconds used so far by each command (haproxy, node…) of a process group:
 * the scheduler's own run time of every thread (/proc/<pid>/task/<tid>/schedstat,
 * in ns). /proc/<pid>/stat counts in 10-ms ticks: over a 3-s round at 500 req/s
 * (about 20 ticks per process) that made each round's ratio ±10% by rounding
 * alone, and ruled out the shorter, more finely interleaved rounds used now.
 */
function groupCpuByCommand(pgid: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${e}/stat`, "utf8");
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(f[2]) !== pgid) continue;
      let ns = 0;
      for (const tid of fs.readdirSync(`/proc/${e}/task`))
        ns += Number(fs.readFileSync(`/proc/${e}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
      out[comm] = (out[comm] ?? 0) + ns / 1e9;
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** CPU seconds used so far by every process of a process group. */
function groupCpuSeconds(pgid: number): number {
  return Object.values(groupCpuByCommand(pgid)).reduce((a, b) => a + b, 0);
}

/** CPU seconds of every process group of a target so far. */
function targetCpuSeconds(t: Target): number {
  return t.groups.reduce((a, g) => a + groupCpuSeconds(g), 0);
}

/** The router's CPU by process (HAProxy vs its control process, which reads the request log). */
const routerCpuSplit: Record<string, Record<string, number>> = {};

type CapacityResult = Awaited<ReturnType<typeof capacity>>;

/** Capacity rounds of one target: mean req/s, CPU per request over all of them. */
function poolCapacity(rs: CapacityResult[]): CapacityResult {
  const mean = (k: "rps" | "p50" | "p99") =>
    Math.round(rs.reduce((a, r) => a + r[k], 0) / Math.max(1, rs.length));
  const total = rs.reduce((a, r) => a + r.total, 0);
  return {
    rps: mean("rps"),
    p50: mean("p50"),
    p99: mean("p99"),
    errors: rs.reduce((a, r) => a + r.errors, 0),
    total,
    cpuMicrosPerRequest: Math.round(
      rs.reduce((a, r) => a + r.cpuMicrosPerRequest * r.total, 0) / Math.max(1, total),
    ),
  };
}

/** Closed-loop capacity with autocannon: req/s with 32 connections, and CPU per request meanwhile. */
async function capacity(t: Target, seconds: number) {
  const autocannon = require("autocannon") as (o: Record<string, unknown>) => Promise<{
    requests: { average: number; total: number };
    latency: { p50: number; p99: number };
    errors: number;
    non2xx: number;
  }>;
  const cpu = () => targetCpuSeconds(t);
  const c0 = cpu();
  const r = await autocannon({
    url: `http://127.0.0.1:${t.port}/api/products`,
    connections: 32,
    duration: seconds,
  });
  await sleep(QUIET_AFTER_ROUND_MS);
  return {
    rps: Math.round(r.requests.average),
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.errors + r.non2xx,
    total: r.requests.total,
    cpuMicrosPerRequest: Math.round(((cpu() - c0) / Math.max(1, r.requests.total)) * 1e6),
  };
}

function nginxBinary(): string {
  const bin = readManifest().nginx?.path ?? "/usr/sbin/nginx";
  if (!fs.existsSync(bin)) throw new Error(`no nginx at ${bin}: run \`npm run setup\` (or pass --no-nginx)`);
  return bin;
}

async function startNginx(bin: string, port: number, blue: number, green: number): Promise<DetachedProcess> {
  const dir = path.join(BENCH_STATE, "nginx");
  fs.mkdirSync(path.join(dir, "logs"), { recursive: true });
  const conf = `
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream app {
    server 127.0.0.1:${blue} weight=9;
    server 127.0.0.1:${green} weight=1;
    keepalive 128;
  }
  server {
    listen 127.0.0.1:${port};
    keepalive_requests 100000;
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`;
  fs.writeFileSync(path.join(dir, "nginx.conf"), conf);
  const proc = spawnDetached(bin, ["-p", dir, "-c", path.join(dir, "nginx.conf")], {
    logFile: path.join(dir, "logs", "stdout.log"),
  });
  try {
    await waitForPort(port, 10_000);
  } catch (err) {
    await stopGroup(proc, 2000);
    throw new Error(`${(err as Error).message}\n${tailLog(path.join(dir, "logs", "error.log"))}`);
  }
  return proc;
}

/**
 * The Node proxy the router was before HAProxy, from git (`<ref>:infra/local/router`),
 * started as its own process with the same table. For the comparison only.
 */
async function startNodeRouter(ref: string, ports: { blue: number; green: number }) {
  const dir = path.join(BENCH_STATE, "node-router");
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const tar = execFileSync("git", ["archive", ref, "infra/local/router"], { cwd: PROJECT_ROOT });
  execFileSync("tar", ["-x", "-C", dir], { input: tar });
  const port = await freePort();
  const adminPort = await freePort();
  const proc = spawnDetached(
    path.join(PROJECT_ROOT, "node_modules", ".bin", "tsx"),
    [
      path.join(dir, "infra/local/router/main.ts"),
      ...["--port", String(port), "--admin-port", String(adminPort)],
      ...["--state-file", path.join(dir, "routes.json"), "--health-interval-ms", "500"],
    ],
    { logFile: path.join(dir, "router.log"), env: { ...process.env, SHIPSHAPE_ROUTER_TOKEN: "bench" } },
  );
  await waitForPort(adminPort, 20_000);
  const admin = new AdminApi(`http://127.0.0.1:${adminPort}`, "bench");
  await admin.setRoutes(table(ports));
  return { proc, target: { name: "node-router", port, groups: [proc.pid], admin } satisfies Target };
}

function table(ports: { blue: number; green: number }) {
  return {
    backends: {
      blue: { version: "blue", instances: [`http://127.0.0.1:${ports.blue}`], weight: 90 },
      green: { version: "green", instances: [`http://127.0.0.1:${ports.green}`], weight: 10 },
    },
  };
}

/** PUT of a 100/0 ↔ 0/100 switch, then requests until one is answered by the other backend. */
async function switchLatency(t: Target, rounds: number) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  const backendOf = () =>
    new Promise<string>((resolve, reject) => {
      http
        .get({ host: "127.0.0.1", port: t.port, path: "/", agent }, (res) => {
          res.resume();
          res.on("end", () => resolve(String(res.headers["x-bench-backend"])));
        })
        .on("error", reject);
    });
  const applyMs: number[] = [];
  const visibleMs: number[] = [];
  const effectiveMs: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const to = i % 2 === 0 ? "green" : "blue";
    const t0 = performance.now();
    // Requests keep flowing while the PUT is in flight (as users' do): the
    // first one answered by the other backend is when the switch took effect
    // in the data plane, before the control process has persisted the table
    // and answered the PUT (which adminPutMs measures).
    let putDone = false;
    const deadline = Date.now() + 2000;
    const effective = (async () => {
      for (;;) {
        if ((await backendOf()) === to) return performance.now() - t0;
        if (Date.now() > deadline) throw new Error(`${t.name}: switch never became visible`);
        if (putDone) await new Promise((r) => setImmediate(r));
      }
    })();
    await t.admin!.setRoutes({ weights: to === "green" ? { blue: 0, green: 100 } : { blue: 100, green: 0 } });
    putDone = true;
    applyMs.push(performance.now() - t0);
    effectiveMs.push(await effective);
    while ((await backendOf()) !== to) {
      if (Date.now() > deadline) throw new Error(`${t.name}: switch never became visible`);
    }
    visibleMs.push(performance.now() - t0);
  }
  agent.destroy();
  await t.admin!.setRoutes({ weights: { blue: 90, green: 10 } });
  return {
    adminPutMs: summary(applyMs),
    /** From the PUT's start to the first answer from the other backend (requests sent meanwhile). */
    effectiveMs: summary(effectiveMs),
    firstRequestOnNewBackendAfterPutMs: summary(visibleMs),
  };
}

/**
 * Waits until every proxy is idle (< 2% of a core over a second, at most 30 s):
 * the router's control process compiles its TypeScript and JITs for a few
 * seconds after it starts, a one-time cost a long-running proxy does not pay
 * per request.
 */
async function settle(targets: Target[]) {
  const started = Date.now();
  for (let i = 0; i < 30; i++) {
    const before = targets.map(targetCpuSeconds);
    await sleep(1000);
    if (targets.every((t, k) => targetCpuSeconds(t) - before[k]! < 0.02)) break;
  }
  console.log(`proxies idle after ${Math.round((Date.now() - started) / 1000)} s`);
}

async function latencyPhases(targets: Target[], ports: { blue: number; green: number }) {
  const weighted = () => (Math.random() < 0.9 ? ports.blue : ports.green);
  const pickOf = (t: Target) => (t.name === "direct" ? weighted : () => t.port);
  // Warm-up (JIT, keep-alive pools), not recorded.
  const warmUpSent: Record<string, number> = {};
  for (const t of targets) warmUpSent[t.name] = (await fixedRate(t.name, 500, 3000, pickOf(t))).sent;
  await settle(targets);
  const results: LatencyResult[] = [];
  const rounds: RoundsByRate = {};
  for (const rate of RATES) {
    // ROUNDS interleaved rounds (direct, router, nginx, direct, ...) so that
    // noise from other processes on the machine hits all targets alike.
    const parts: Record<string, LatencyResult[]> = {};
    for (let i = 0; i < ROUNDS; i++) {
      for (const t of targets) {
        const c0 = targetCpuSeconds(t);
        const split0 = t.name === "router" ? groupCpuByCommand(t.groups[0]!) : {};
        const r = await fixedRate(t.name, rate, PHASE_MS / ROUNDS, pickOf(t));
        await sleep(QUIET_AFTER_ROUND_MS);
        r.cpuMicrosPerRequest = Math.round(((targetCpuSeconds(t) - c0) / Math.max(1, r.sent)) * 1e6);
        if (t.name === "router") {
          routerCpuSplit[`@${rate}`] ??= {};
          const split = routerCpuSplit[`@${rate}`]!;
          for (const [comm, secs] of Object.entries(groupCpuByCommand(t.groups[0]!)))
            split[comm] =
              (split[comm] ?? 0) + (((secs - (split0[comm] ?? 0)) / Math.max(1, r.sent)) * 1e6) / ROUNDS;
        }
        parts[t.name] = [...(parts[t.name] ?? []), r];
      }
    }
    rounds[rate] = parts;
    for (const t of targets) {
      const r = pool(parts[t.name] ?? []);
      results.push(r);
      console.log(
        `${r.target.padEnd(11)} @ ${String(rate).padStart(4)} req/s: sent ${r.sent} ok ${r.ok} err ${r.errors} ` +
          `p50 ${r.p50} ms p99 ${r.p99} ms max ${r.max} ms (${r.cpuMicrosPerRequest} µs CPU/request)`,
      );
    }
  }
  return { results, rounds, warmUpSent };
}

/** Each target's results round by round, per rate (round i of every target ran back to back). */
type RoundsByRate = Record<number, Record<string, LatencyResult[]>>;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0
    ? Number.NaN
    : s.length % 2
      ? s[(s.length - 1) / 2]!
      : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/**
 * Ratios of `t` to nginx round by round, then their median: a burst of
 * noise from the machine's neighbours (steal time here reaches 25%) spoils
 * the round it falls in, not the whole figure the way it does a pooled sum.
 */
function medianOfRounds(rounds: Record<string, LatencyResult[]>, t: string) {
  const mine = rounds[t] ?? [];
  const cpu: number[] = [];
  const p99: number[] = [];
  mine.forEach((r, i) => {
    const n = rounds.nginx?.[i];
    const d = rounds.direct?.[i];
    if (!n || !d) return;
    if (r.cpuMicrosPerRequest && n.cpuMicrosPerRequest)
      cpu.push(r.cpuMicrosPerRequest / n.cpuMicrosPerRequest);
    const addedP99 = (x: LatencyResult) => x.p99 - d.p99;
    // A proxy whose p99 came out below direct's in a round added nothing measurable there.
    p99.push(Math.max(0, addedP99(r)) / Math.max(1, addedP99(n)));
  });
  return { cpuVsNginx: round(median(cpu), 2), addedP99VsNginx: round(median(p99), 2), rounds: cpu.length };
}

/** Added latency vs direct, and each proxy against nginx (ratios of added latency, of CPU per request). */
function comparisons(
  results: LatencyResult[],
  rounds: RoundsByRate,
  capacity: Record<string, CapacityResult>,
  capacityRounds: Record<string, CapacityResult[]>,
) {
  const find = (t: string, rate: number) => results.find((r) => r.target === t && r.rate === rate);
  const out: Record<string, unknown> = {};
  for (const rate of RATES) {
    const d = find("direct", rate);
    const n = find("nginx", rate);
    for (const t of ["router", "nginx", "node-router"]) {
      const r = find(t, rate);
      if (!d || !r) continue;
      out[`${t}@${rate}`] = {
        addedP50Ms: round(r.p50 - d.p50),
        addedP99Ms: round(r.p99 - d.p99),
        cpuMicrosPerRequest: r.cpuMicrosPerRequest,
        ...(n && t !== "nginx"
          ? {
              // Against nginx's added p99, floored at 1 ms: below that the ratio is noise.
              addedP99VsNginx: round((r.p99 - d.p99) / Math.max(1, n.p99 - d.p99), 2),
              cpuVsNginx: n.cpuMicrosPerRequest
                ? round((r.cpuMicrosPerRequest ?? 0) / n.cpuMicrosPerRequest, 2)
                : null,
              medianOfRounds: medianOfRounds(rounds[rate] ?? {}, t),
            }
          : {}),
      };
    }
  }
  const nginxCap = capacityRounds.nginx;
  for (const t of ["router", "node-router"]) {
    const c = capacityRounds[t];
    if (!c || !nginxCap) continue;
    const pooled = capacity[t]!;
    const n = capacity.nginx!;
    const pairs = c.flatMap((r, i) => (nginxCap[i] ? [[r, nginxCap[i]] as const] : []));
    out[`${t}-capacity`] = {
      capacityVsNginx: round(pooled.rps / n.rps, 2),
      cpuVsNginxAtCapacity: round(pooled.cpuMicrosPerRequest / Math.max(1, n.cpuMicrosPerRequest), 2),
      medianOfRounds: {
        capacityVsNginx: round(median(pairs.map(([a, b]) => a.rps / b.rps)), 2),
        cpuVsNginxAtCapacity: round(
          median(pairs.map(([a, b]) => a.cpuMicrosPerRequest / Math.max(1, b.cpuMicrosPerRequest))),
          2,
        ),
        rounds: pairs.length,
      },
    };
  }
  return out;
}

async function provisionTimes() {
  const localInfraDriver = createLocalInfraDriver({
    stateDir: BENCH_STATE,
    pulumi: devPulumiSettings(BENCH_STATE),
  });
  const provision: number[] = [];
  const destroy: number[] = [];
  for (let i = 0; i < 2; i++) {
    const ref = { deploymentId: "bench", service: "bench", environment: "local", version: `v${i}` };
    const t0 = performance.now();
    const env = await localInfraDriver.provisionEnvironment(
      ref,
      {
        run: {
          command: `${process.execPath} -e '${BACKEND_JS.replace(/'/g, "'\\''")}'`,
          instances: 2,
          healthPath: "/health",
          env: { NAME: "bench" },
          startTimeout: 20_000,
        },
        env: {},
        artifact: { location: BENCH_STATE, digest: "sha256:bench-inline" },
      },
      () => {},
    );
    provision.push(performance.now() - t0);
    if (env.instances.length !== 2) throw new Error("expected 2 instances");
    const t1 = performance.now();
    await localInfraDriver.destroyEnvironment(ref, () => {});
    destroy.push(performance.now() - t1);
    console.log(
      `provision 2 instances: ${Math.round(provision[i] ?? 0)} ms, destroy: ${Math.round(destroy[i] ?? 0)} ms`,
    );
  }
  return { provisionMs: summary(provision), destroyMs: summary(destroy) };
}

async function startBackends(started: DetachedProcess[]) {
  const ports = { blue: await freePort(), green: await freePort() };
  for (const [name, port] of Object.entries(ports)) {
    const p = spawnDetached(process.execPath, ["-e", BACKEND_JS], {
      logFile: path.join(BENCH_STATE, `backend-${name}.log`),
      env: { ...process.env, PORT: String(port), NAME: name },
    });
    started.push(p);
    await waitForPort(port, 10_000);
  }
  return ports;
}

async function startTargets(
  started: DetachedProcess[],
  ports: { blue: number; green: number },
  out: Record<string, unknown>,
) {
  const targets: Target[] = [{ name: "direct", port: 0, groups: started.map((p) => p.pid) }];
  await stopRouterProcess("bench", { purge: true });
  const router = await ensureRouterProcess("bench");
  const admin = new RouterClient({ adminUrl: router.adminUrl, token: router.token });
  await admin.setRoutes(table(ports));
  targets.push({
    name: "router",
    port: router.port,
    groups: [router.pid],
    admin: new AdminApi(router.adminUrl, router.token),
  });
  out.haproxy = execFileSync("sh", ["-c", `${readManifest().haproxy?.path ?? "haproxy"} -v | head -1`], {
    encoding: "utf8",
  }).trim();
  if (!args["no-nginx"]) {
    const bin = nginxBinary();
    const port = await freePort();
    const proc = await startNginx(bin, port, ports.blue, ports.green);
    started.push(proc);
    targets.push({ name: "nginx", port, groups: [proc.pid] });
    out.nginx = execFileSync("sh", ["-c", `${bin} -v 2>&1`], { encoding: "utf8" }).trim();
  }
  if (args["node-router"]) {
    const node = await startNodeRouter(args["node-router"], ports);
    started.push(node.proc);
    targets.push(node.target);
    out.nodeRouterRef = args["node-router"];
  }
  return { targets, admin };
}

function printTable(
  out: Record<string, unknown>,
  results: LatencyResult[],
  cap: Record<string, { rps: number; cpuMicrosPerRequest: number }>,
) {
  const find = (t: string, rate: number) => results.find((r) => r.target === t && r.rate === rate);
  const rows = ["router", "nginx", "node-router"].filter((t) => find(t, 500));
  console.log(
    "\n| proxy | added p50 / p99 @500 (ms) | added p50 / p99 @2000 (ms) | capacity (req/s) | CPU/request @2000 (µs) |",
  );
  console.log("|---|---|---|---|---|");
  for (const t of rows) {
    const cells = RATES.map((rate) => {
      const r = find(t, rate)!;
      const d = find("direct", rate)!;
      return `${round(r.p50 - d.p50, 2)} / ${round(r.p99 - d.p99, 2)}`;
    });
    console.log(
      `| ${t} | ${cells.join(" | ")} | ${cap[t]?.rps ?? "—"} | ${find(t, 2000)?.cpuMicrosPerRequest ?? "—"} |`,
    );
  }
  const c = out.comparisons as Record<string, { medianOfRounds?: Record<string, number> }>;
  const m = (k: string, f: string) => c[k]?.medianOfRounds?.[f] ?? "—";
  console.log(
    `router vs nginx, median of the per-round ratios: CPU/request ${m("router@500", "cpuVsNginx")} @500, ` +
      `${m("router@2000", "cpuVsNginx")} @2000, ${m("router-capacity", "cpuVsNginxAtCapacity")} at capacity; ` +
      `added p99 ${m("router@500", "addedP99VsNginx")} @500, ${m("router@2000", "addedP99VsNginx")} @2000; ` +
      `capacity ${m("router-capacity", "capacityVsNginx")}`,
  );
  console.log(`weight switch (router): ${JSON.stringify(out.weightSwitch)}`);
}

async function main(): Promise<void> {
  const benchStarted = Date.now();
  process.env.SHIPSHAPE_STATE_DIR = BENCH_STATE; // stateDir() is read lazily by every module
  fs.mkdirSync(BENCH_STATE, { recursive: true });
  const started: DetachedProcess[] = [];
  const out: Record<string, unknown> = {
    at: new Date().toISOString(),
    machine: {
      cpus: os.cpus().length,
      model: os.cpus()[0]?.model,
      node: process.version,
      load: os.loadavg(),
    },
    phaseSeconds: PHASE_MS / 1000,
  };
  let results: LatencyResult[] = [];
  let rounds: RoundsByRate = {};
  const cap: Record<string, CapacityResult> = {};
  const capRounds: Record<string, CapacityResult[]> = {};
  try {
    const ports = await startBackends(started);
    const { targets, admin } = await startTargets(started, ports, out);
    const phases = await latencyPhases(targets, ports);
    ({ results, rounds } = phases);
    // What the router's statistics (HAProxy's request log) counted against
    // what the client sent it so far (warm-up and rounds; capacity comes later).
    const stats = await admin.stats(300);
    out.routerObservedRequests = Object.fromEntries(
      Object.entries(stats.backends).map(([k, v]) => [k, v.total.requests]),
    );
    out.routerSentRequests =
      (phases.warmUpSent.router ?? 0) +
      results.filter((r) => r.target === "router").reduce((a, r) => a + r.sent, 0);
    // Interleaved like the latency rounds.
    for (let i = 0; i < CAPACITY_ROUNDS; i++)
      for (const t of targets) {
        const r = await capacity(t.name === "direct" ? { ...t, port: ports.blue } : t, CAPACITY_SECONDS);
        capRounds[t.name] = [...(capRounds[t.name] ?? []), r];
        console.log(`capacity ${t.name} (round ${i + 1}): ${JSON.stringify(r)}`);
      }
    for (const [name, rs] of Object.entries(capRounds)) cap[name] = poolCapacity(rs);
    out.capacity = cap;
    // µs of CPU per request by process of the router's group, averaged over the rounds.
    out.routerCpuSplitMicrosPerRequest = Object.fromEntries(
      Object.entries(routerCpuSplit).map(([rate, split]) => [
        rate,
        Object.fromEntries(Object.entries(split).map(([comm, us]) => [comm, Math.round(us)])),
      ]),
    );
    console.log(`router CPU per request by process: ${JSON.stringify(out.routerCpuSplitMicrosPerRequest)}`);
    out.weightSwitch = await switchLatency(targets.find((t) => t.name === "router")!, 60);
    const node = targets.find((t) => t.name === "node-router");
    if (node) out.nodeRouterWeightSwitch = await switchLatency(node, 60);
    await stopRouterProcess("bench", { purge: true });
    if (!args["no-provision"]) out.environment = await provisionTimes();
  } finally {
    for (const p of started.reverse()) await stopGroup(p, 3000);
    await stopRouterProcess("bench", { purge: true }).catch(() => {});
    fs.rmSync(path.join(BENCH_STATE, "node-router"), { recursive: true, force: true });
  }
  out.latency = results.map(({ raw: _raw, ...r }) => r);
  out.comparisons = comparisons(results, rounds, cap, capRounds);
  out.totalSeconds = Math.round((Date.now() - benchStarted) / 1000);
  printTable(out, results, cap);
  console.log(`\n${JSON.stringify(out.comparisons, null, 1)}`);
  fs.mkdirSync(path.join(PROJECT_ROOT, "bench", "results"), { recursive: true });
  fs.writeFileSync(
    path.join(PROJECT_ROOT, "bench", "results", "router.json"),
    `${JSON.stringify(out, null, 2)}\n`,
  );
  console.log(`\nwrote bench/results/router.json (${out.totalSeconds} s)`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
