// Router benchmark: npx tsx bench/router.ts [--seconds 9] [--no-nginx] [--no-provision]
//
// Side by side in one run, against the same two backend processes (blue and
// green, weighted 90/10):
//   direct  the client picks blue/green itself (90/10) and calls the backend
//   router  the local router (infra/local/router) as its own detached process
//   nginx   nginx (Debian nginx-light, installed with apt-get if missing) with
//           an upstream of the same two servers, weight=9 / weight=1, keepalive
// at fixed (open-loop) rates of 500 and 2,000 req/s. Latency is measured per
// request with hrtime over keep-alive connections; "added" = proxy − direct.
// Also: weight-switch latency (PUT /admin/routes until the first response from
// the other backend), and the time to provision and destroy a 2-instance
// environment with the local infra driver (real Pulumi engine).
// Prints a table and writes bench/results/router.json. Bounded: every phase
// has a fixed duration, the whole run stays under 5 minutes.

import { execFileSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";

const { values: args } = parseArgs({
  options: {
    seconds: { type: "string", default: "9" },
    "no-nginx": { type: "boolean" },
    "no-provision": { type: "boolean" },
  },
});
const PROJECT_ROOT = path.resolve(__dirname, "..");
const BENCH_STATE = path.join(PROJECT_ROOT, ".shipshape", "bench-router");

import { createLocalInfraDriver } from "../infra/local/driver";
import { RouterClient } from "../infra/local/router/client";
import { ensureRouterProcess, stopRouterProcess } from "../infra/local/router-process";
import { devPulumiSettings } from "../infra/pulumi/workspace";
import { freePort, waitForPort } from "../lib/runtime/free-port";
import { type DetachedProcess, spawnDetached, stopGroup, tailLog } from "../lib/runtime/process-group";

const PHASE_MS = Number(args.seconds) * 1000;
const ROUNDS = 3;
const RATES = [500, 2000];
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
  /** CPU time of the proxy's process group per request (µs); direct: of the two backends. */
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;
function pct(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

/** Open-loop load at `rate` req/s for `ms`; urls picked by `pick()`; per-request latency in ms. */
async function fixedRate(
  target: string,
  rate: number,
  ms: number,
  pick: () => { port: number; path: string },
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
    const { port, path: p } = pick();
    const t0 = performance.now();
    const done = new Promise<void>((resolve) => {
      const req = http.get({ host: "127.0.0.1", port, path: p, agent, timeout: 5000 }, (res) => {
        res.resume();
        res.on("end", () => {
          lat.push(performance.now() - t0);
          if (res.statusCode === 200) ok++;
          else errors++;
          resolve();
        });
      });
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

/** CPU seconds (user+system) used so far by every process of a process group (Linux /proc). */
function groupCpuSeconds(pgid: number): number {
  let ticks = 0;
  for (const e of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${e}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(f[2]) === pgid) ticks += Number(f[11]) + Number(f[12]);
    } catch {
      // exited meanwhile
    }
  }
  return ticks / 100; // USER_HZ
}

/** Closed-loop capacity with autocannon: max req/s with 32 connections for `seconds`. */
async function capacity(
  url: string,
  seconds: number,
): Promise<{ rps: number; p50: number; p99: number; errors: number }> {
  const autocannon = require("autocannon") as (o: Record<string, unknown>) => Promise<{
    requests: { average: number };
    latency: { p50: number; p99: number };
    errors: number;
    non2xx: number;
  }>;
  const r = await autocannon({ url, connections: 32, duration: seconds });
  return {
    rps: Math.round(r.requests.average),
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.errors + r.non2xx,
  };
}

function ensureNginx(): string | undefined {
  const found = ["/usr/sbin/nginx", "/usr/bin/nginx"].find((p) => fs.existsSync(p));
  if (found) return found;
  try {
    console.log("nginx not found: apt-get install -y nginx-light (bench only)");
    execFileSync("apt-get", ["install", "-y", "--no-install-recommends", "nginx-light"], {
      stdio: "inherit",
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
      timeout: 120_000,
    });
  } catch {
    try {
      execFileSync("apt-get", ["update"], { stdio: "inherit", timeout: 120_000 });
      execFileSync("apt-get", ["install", "-y", "--no-install-recommends", "nginx-light"], {
        stdio: "inherit",
        env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
        timeout: 120_000,
      });
    } catch (err) {
      console.log(`could not install nginx: ${(err as Error).message}`);
      return undefined;
    }
  }
  return ["/usr/sbin/nginx", "/usr/bin/nginx"].find((p) => fs.existsSync(p));
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

async function switchLatency(
  routerPort: number,
  client: RouterClient,
  rounds: number,
): Promise<{ applyMs: number[]; visibleMs: number[] }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  const backendOf = () =>
    new Promise<string>((resolve, reject) => {
      http
        .get({ host: "127.0.0.1", port: routerPort, path: "/", agent }, (res) => {
          res.resume();
          res.on("end", () => resolve(String(res.headers["x-shipshape-backend"])));
        })
        .on("error", reject);
    });
  const applyMs: number[] = [];
  const visibleMs: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const to = i % 2 === 0 ? "green" : "blue";
    const t0 = performance.now();
    await client.setRoutes({ weights: to === "green" ? { blue: 0, green: 100 } : { blue: 100, green: 0 } });
    applyMs.push(performance.now() - t0);
    const deadline = Date.now() + 2000;
    while ((await backendOf()) !== to) {
      if (Date.now() > deadline) throw new Error("switch never became visible");
    }
    visibleMs.push(performance.now() - t0);
  }
  agent.destroy();
  return { applyMs, visibleMs };
}

function summary(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  return { n: s.length, p50: round(pct(s, 0.5)), p99: round(pct(s, 0.99)), max: round(s[s.length - 1] ?? 0) };
}

async function main(): Promise<void> {
  const benchStarted = Date.now();
  const localInfraDriver = createLocalInfraDriver({
    stateDir: BENCH_STATE,
    pulumi: devPulumiSettings(BENCH_STATE),
  });
  fs.mkdirSync(BENCH_STATE, { recursive: true });
  const started: DetachedProcess[] = [];
  const results: LatencyResult[] = [];
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
  try {
    // ---- backends
    const ports = { blue: await freePort(), green: await freePort() };
    for (const [name, port] of Object.entries(ports)) {
      const p = spawnDetached(process.execPath, ["-e", BACKEND_JS], {
        logFile: path.join(BENCH_STATE, `backend-${name}.log`),
        env: { ...process.env, PORT: String(port), NAME: name },
      });
      started.push(p);
      await waitForPort(port, 10_000);
    }

    // ---- router (its own process, health checks on)
    await stopRouterProcess("bench", { purge: true, stateDir: BENCH_STATE });
    const router = await ensureRouterProcess("bench", { stateDir: BENCH_STATE });
    const client = new RouterClient({ adminUrl: router.adminUrl, token: router.token });
    await client.setRoutes({
      backends: {
        blue: { version: "blue", instances: [`http://127.0.0.1:${ports.blue}`], weight: 90 },
        green: { version: "green", instances: [`http://127.0.0.1:${ports.green}`], weight: 10 },
      },
    });

    // ---- nginx
    let nginxPort: number | undefined;
    const nginxBin = args["no-nginx"] ? undefined : ensureNginx();
    if (nginxBin) {
      nginxPort = await freePort();
      started.push(await startNginx(nginxBin, nginxPort, ports.blue, ports.green));
      out.nginx = execFileSync("sh", ["-c", `${nginxBin} -v 2>&1`], { encoding: "utf8" }).trim();
    }

    const groups: Record<string, number[]> = {
      direct: started.slice(0, 2).map((p) => p.pid),
      router: [router.pid],
      nginx: started.slice(2).map((p) => p.pid),
    };
    const cpu = (t: string) => (groups[t] ?? []).reduce((a, g) => a + groupCpuSeconds(g), 0);
    const weighted = () => ({ port: Math.random() < 0.9 ? ports.blue : ports.green, path: "/api/products" });
    const targets: Array<[string, () => { port: number; path: string }]> = [
      ["direct", weighted],
      ["router", () => ({ port: router.port, path: "/api/products" })],
    ];
    if (nginxPort) targets.push(["nginx", () => ({ port: nginxPort, path: "/api/products" })]);

    // Warm-up (JIT, keep-alive pools), not recorded.
    for (const [name, pick] of targets) await fixedRate(name, 500, 1000, pick);
    // Each rate: ROUNDS interleaved rounds (direct, router, nginx, direct, ...) so
    // that noise from other processes on the machine hits all targets alike.
    for (const rate of RATES) {
      const parts: Record<string, LatencyResult[]> = {};
      for (let round = 0; round < ROUNDS; round++) {
        for (const [name, pick] of targets) {
          const c0 = cpu(name);
          const r = await fixedRate(name, rate, PHASE_MS / ROUNDS, pick);
          r.cpuMicrosPerRequest = Math.round(((cpu(name) - c0) / Math.max(1, r.sent)) * 1e6);
          parts[name] = [...(parts[name] ?? []), r];
        }
      }
      for (const [name] of targets) {
        const r = pool(parts[name] ?? []);
        results.push(r);
        console.log(
          `${name.padEnd(6)} @ ${String(rate).padStart(4)} req/s: sent ${r.sent} ok ${r.ok} err ${r.errors} ` +
            `p50 ${r.p50} ms p90 ${r.p90} ms p99 ${r.p99} ms max ${r.max} ms (achieved ${r.achievedRps} req/s, ` +
            `${r.cpuMicrosPerRequest} µs CPU/request)`,
        );
      }
    }

    // Closed-loop capacity (autocannon, 32 connections), for context.
    const cap: Record<string, unknown> = {};
    const capUrls: Array<[string, string]> = [
      ["direct-blue", `http://127.0.0.1:${ports.blue}/api/products`],
      ["router", `${router.url}/api/products`],
    ];
    if (nginxPort) capUrls.push(["nginx", `http://127.0.0.1:${nginxPort}/api/products`]);
    for (const [name, url] of capUrls) {
      cap[name] = await capacity(url, 3);
      console.log(`capacity ${name}: ${JSON.stringify(cap[name])}`);
    }
    out.capacity = cap;
    const stats = await client.stats(300);
    out.routerObservedShare = Object.fromEntries(
      Object.entries(stats.backends).map(([k, v]) => [k, v.total.requests]),
    );

    // ---- weight switch
    const sw = await switchLatency(router.port, client, 60);
    out.weightSwitch = { adminPutMs: summary(sw.applyMs), firstRequestOnNewBackendMs: summary(sw.visibleMs) };
    console.log(
      `weight switch (PUT → first response from the other backend): ${JSON.stringify(out.weightSwitch)}`,
    );

    await stopRouterProcess("bench", { purge: true, stateDir: BENCH_STATE });

    // ---- provision / destroy a 2-instance environment (real Pulumi engine)
    if (!args["no-provision"]) {
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
            // The backend is inline; it runs in the bench's state folder.
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
      out.environment = { provisionMs: summary(provision), destroyMs: summary(destroy) };
    }
  } finally {
    for (const p of started.reverse()) await stopGroup(p, 3000);
    await stopRouterProcess("bench", { purge: true, stateDir: BENCH_STATE }).catch(() => {});
  }

  // ---- figures
  const find = (t: string, rate: number) => results.find((r) => r.target === t && r.rate === rate);
  const added: Record<string, unknown> = {};
  for (const rate of RATES) {
    const d = find("direct", rate);
    for (const t of ["router", "nginx"]) {
      const r = find(t, rate);
      if (!d || !r) continue;
      added[`${t}@${rate}`] = {
        addedP50Ms: round(r.p50 - d.p50),
        addedP99Ms: round(r.p99 - d.p99),
        ratioP50ToDirect: round(r.p50 / d.p50, 2),
        ratioP99ToDirect: round(r.p99 / d.p99, 2),
      };
    }
    const r = find("router", rate);
    const n = find("nginx", rate);
    if (r && n && d) {
      // A ratio of added latencies is meaningless when nginx adds ~nothing (or less than noise).
      const ratio = (a: number, b: number) => (b >= 0.05 ? round(a / b, 2) : null);
      added[`router-vs-nginx@${rate}`] = {
        routerP50Ms: r.p50,
        nginxP50Ms: n.p50,
        routerP99Ms: r.p99,
        nginxP99Ms: n.p99,
        addedP50Ratio: ratio(r.p50 - d.p50, n.p50 - d.p50),
        addedP99Ratio: ratio(r.p99 - d.p99, n.p99 - d.p99),
        p50Ratio: round(r.p50 / n.p50, 2),
        p99Ratio: round(r.p99 / n.p99, 2),
        cpuPerRequestRatio: n.cpuMicrosPerRequest
          ? round((r.cpuMicrosPerRequest ?? 0) / n.cpuMicrosPerRequest, 2)
          : null,
      };
    }
  }
  out.latency = results.map(({ raw: _raw, ...r }) => r);
  out.added = added;
  out.totalSeconds = Math.round((Date.now() - benchStarted) / 1000);
  console.log("\nadded latency vs direct:");
  for (const [k, v] of Object.entries(added)) console.log(`  ${k.padEnd(22)} ${JSON.stringify(v)}`);
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
