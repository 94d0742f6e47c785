import type { ChildProcess } from "node:child_process";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { RouterClient, RouterClientError } from "../../../../../infra/local/router/client";
import {
  admin,
  hammer,
  killAllBackends,
  launchRouterCli,
  override,
  parsePrometheus,
  removeDir,
  request,
  startBackend,
  startTestRouter,
  type TestRouter,
  TOKEN,
  tempDir,
  twoBackends,
} from "./helpers";

let routers: TestRouter[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const r of routers) {
    await r.close();
    await removeDir(r.dir);
  }
  routers = [];
  for (const d of dirs.splice(0)) await removeDir(d);
  await killAllBackends();
});

async function router(opts: Parameters<typeof startTestRouter>[0] = {}) {
  const r = await startTestRouter(opts);
  routers.push(r);
  return r;
}

describe("admin API: auth", () => {
  it("requires the token on every admin route: 401 without, 403 wrong, 200 right", async () => {
    const r = await router();
    for (const path of ["/admin/routes", "/admin/stats", "/admin/health", "/metrics"]) {
      const none = await admin(r, path, { token: null });
      expect(none.status).toBe(401);
      expect(none.headers["www-authenticate"]).toContain("Bearer");
      expect((await admin(r, path, { token: "nope" })).status).toBe(403);
      expect((await admin(r, path)).status).toBe(200);
    }
    const put = await admin(r, "/admin/routes", { method: "PUT", token: "nope", body: { sticky: true } });
    expect(put.status).toBe(403);
    expect(r.table().sticky).toBe(false);
    const alt = await request(`${r.adminUrl}/admin/routes`, { headers: { "x-shipshape-token": TOKEN } });
    expect(alt.status).toBe(200);
    // Liveness of the router itself needs no token; unknown paths are 404.
    expect((await admin(r, "/healthz", { token: null })).status).toBe(200);
    expect((await admin(r, "/admin/nope")).status).toBe(404);
    expect((await admin(r, "/admin/stats", { method: "DELETE" })).status).toBe(405);
  });

  it("the admin API is not reachable through the proxy port", async () => {
    const blue = await startBackend("blue");
    const r = await router();
    await admin(r, "/admin/routes", {
      method: "PUT",
      body: { backends: { blue: { version: "v1", instances: [blue.url], weight: 1 } } },
    });
    const viaProxy = await request(`${r.url}/admin/routes`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(viaProxy).toMatchObject({ status: 200, body: "blue", backend: "blue" });
  });
});

describe("admin API: stats and metrics", () => {
  it("reports requests, errors and latency percentiles that match what the backends did; override traffic is left out", async () => {
    const blue = await startBackend("blue", { delayMs: 40 });
    const green = await startBackend("green", { status: (n) => (n % 4 === 0 ? 500 : 200) });
    const r = await router();
    await admin(r, "/admin/routes", {
      method: "PUT",
      body: twoBackends([blue], [green], { blue: 100, green: 0 }),
    });
    await hammer(`${r.url}/`, 40, 8);
    await admin(r, "/admin/routes", { method: "PUT", body: { weights: { blue: 0, green: 100 } } });
    await hammer(`${r.url}/`, 80, 8);
    // A tester's requests (override header + token) are not user traffic.
    await hammer(`${r.url}/`, 30, 8, override(r, "blue"));
    await hammer(`${r.url}/`, 30, 8, override(r, "green"));
    expect(blue.hits).toBe(70);

    const snapshot = async () => JSON.parse((await admin(r, "/admin/stats?window=30")).body);
    const snap = await snapshot();
    expect(snap).toMatchObject({ windowSeconds: 30, tableVersion: 2, unrouted: { window: 0, total: 0 } });
    expect(snap.backends.blue).toMatchObject({ version: "v1", requests: 40, errors: 0, errorRate: 0 });
    // 40 ms of backend delay is the floor; a loaded 2-core box adds scheduling noise on top.
    expect(snap.backends.blue.latencyMs.p50).toBeGreaterThanOrEqual(40);
    expect(snap.backends.blue.latencyMs.p50).toBeLessThan(150);
    expect(snap.backends.blue.latencyMs.p99).toBeGreaterThanOrEqual(snap.backends.blue.latencyMs.p50);
    expect(snap.backends.green).toMatchObject({
      version: "v2",
      requests: 80,
      errors: 20,
      errors5xx: 20,
      errorRate: 0.25,
    });
    expect(snap.backends.green.latencyMs.p50).toBeLessThan(snap.backends.blue.latencyMs.p50);

    expect((await admin(r, "/admin/stats?window=0")).status).toBe(400);
    expect((await admin(r, "/admin/stats?window=abc")).status).toBe(400);
    expect((await admin(r, "/admin/stats?window=301")).status).toBe(400);
  });

  it("counts connection failures as errors (no health checks: the dead instance stays in rotation)", async () => {
    const dead = await startBackend("dead");
    await dead.kill();
    const r = await router({ healthCheck: false });
    await admin(r, "/admin/routes", {
      method: "PUT",
      body: { backends: { blue: { version: "v1", instances: [dead.url], weight: 1 } } },
    });
    const replies = await hammer(`${r.url}/`, 5, 1);
    expect(replies.map((x) => x.status)).toEqual([503, 503, 503, 503, 503]);
    expect(replies[0]?.backend).toBe("blue");
    expect(JSON.parse(replies[0]!.body)).toMatchObject({ error: "backend_unreachable" });
    const blueStats = async () => JSON.parse((await admin(r, "/admin/stats")).body).backends.blue;
    const s = await blueStats();
    expect(s).toMatchObject({ requests: 5, errors: 5, connectionErrors: 5, errorRate: 1, latencyMs: null });
  });

  it("serves Prometheus text that parses and agrees with the JSON stats", async () => {
    const blue = await startBackend("blue");
    const green = await startBackend("green", { status: (n) => (n <= 3 ? 503 : 200) });
    const r = await router();
    await admin(r, "/admin/routes", {
      method: "PUT",
      body: twoBackends([blue], [green], { blue: 90, green: 10 }),
    });
    const hits = await hammer(`${r.url}/`, 200, 4);
    const onBlue = hits.filter((h) => h.backend === "blue").length;
    const onGreen = hits.filter((h) => h.backend === "green").length;

    const res = await admin(r, "/metrics");
    expect(res.headers["content-type"]).toContain("text/plain");
    const samples = parsePrometheus(res.body);
    const get = (name: string, labels: Record<string, string>) =>
      samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
        ?.value;

    expect(get("shipshape_router_requests_total", { backend: "blue", version: "v1" })).toBe(onBlue);
    expect(get("shipshape_router_requests_total", { backend: "green", version: "v2" })).toBe(onGreen);
    expect(get("shipshape_router_errors_total", { backend: "green", kind: "5xx" })).toBe(
      Math.min(3, onGreen),
    );
    expect(get("shipshape_router_errors_total", { backend: "blue", kind: "5xx" })).toBe(0);
    expect(get("shipshape_router_backend_weight", { backend: "green" })).toBe(10);
    expect(get("shipshape_router_backend_effective_share", { backend: "blue" })).toBeCloseTo(0.9, 9);
    expect(get("shipshape_router_instance_up", { backend: "green", instance: green.url })).toBe(1);
    expect(get("shipshape_router_table_version", {})).toBe(1);
    expect(get("shipshape_router_request_duration_seconds_count", { backend: "blue" })).toBe(onBlue);
    expect(get("shipshape_router_request_duration_seconds_bucket", { backend: "blue", le: "+Inf" })).toBe(
      onBlue,
    );
    const p95 = get("shipshape_router_window_latency_seconds", {
      backend: "blue",
      quantile: "0.95",
      window: "30",
    });
    expect(p95).toBeGreaterThan(0);
    expect(p95).toBeLessThan(1);
  });
});

describe("RouterClient", () => {
  it("sets, reads back and waits for a table version; surfaces HTTP errors with status", async () => {
    const blue = await startBackend("blue");
    const green = await startBackend("green");
    const r = await router();
    const client = new RouterClient({ adminUrl: r.adminUrl, token: TOKEN });
    const set = await client.setRoutes(twoBackends([blue], [green], { blue: 99, green: 1 }));
    expect(set).toMatchObject({ version: 1, changed: true, effective: { blue: 0.99, green: 0.01 } });
    const again = await client.setRoutes(twoBackends([blue], [green], { blue: 99, green: 1 }));
    expect(again).toMatchObject({ version: 1, changed: false });
    const view = await client.waitForVersion(1, { timeoutMs: 1000 });
    expect(view.table.backends.green?.weight).toBe(1);
    await expect(client.waitForVersion(2, { timeoutMs: 150, intervalMs: 30 })).rejects.toThrow(
      /version 2.*last seen: 1/,
    );
    expect((await client.stats(10)).windowSeconds).toBe(10);
    expect((await client.health()).instances).toHaveLength(2);
    expect(await client.metrics()).toContain("shipshape_router_table_version 1");

    const bad = new RouterClient({ adminUrl: r.adminUrl, token: "wrong" });
    const err = await bad.getRoutes().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RouterClientError);
    expect((err as RouterClientError).status).toBe(403);
    const invalid = await client.setRoutes({ weights: { green: -1 } }).catch((e: unknown) => e);
    expect((invalid as RouterClientError).status).toBe(400);
    const unknown = await admin(r, "/admin/routes", { method: "PUT", body: { weights: { purple: 1 } } });
    expect(unknown.status).toBe(400);
    expect(JSON.parse(unknown.body).message).toContain('exactly two backends, "blue" and "green"');
  });
});

describe("CLI (main.ts)", () => {
  const launch = launchRouterCli;

  const running: ChildProcess[] = [];
  afterEach(() => {
    for (const c of running.splice(0)) if (c.exitCode === null) c.kill("SIGKILL");
  });

  it("refuses to start without a token (exit 2)", async () => {
    const dir = await tempDir();
    dirs.push(dir);
    const p = launch(["--port", "0", "--admin-port", "0", "--state-file", join(dir, "r.json")], {
      SHIPSHAPE_ROUTER_TOKEN: "",
    });
    running.push(p.child);
    p.listening.catch(() => {});
    expect(await p.exited).toBe(2);
    expect(p.stderr()).toContain("SHIPSHAPE_ROUTER_TOKEN");
  });

  it("stops gracefully on SIGTERM and a restarted process keeps the weights", async () => {
    const blue = await startBackend("blue");
    const green = await startBackend("green");
    const dir = await tempDir();
    dirs.push(dir);
    const args = [
      "--port",
      "0",
      "--admin-port",
      "0",
      "--state-file",
      join(dir, "routes.json"),
      "--health-interval-ms",
      "100",
    ];
    const env = { SHIPSHAPE_ROUTER_TOKEN: "cli-token" };

    const first = launch(args, env);
    running.push(first.child);
    const a = await first.listening;
    const client = new RouterClient({ adminUrl: `http://127.0.0.1:${a.adminPort}`, token: "cli-token" });
    await client.setRoutes(twoBackends([blue], [green], { blue: 70, green: 30 }));
    expect((await request(`http://127.0.0.1:${a.port}/`)).status).toBe(200);
    first.child.kill("SIGTERM");
    expect(await first.exited).toBe(0);

    const second = launch(args, env);
    running.push(second.child);
    const b = await second.listening;
    const client2 = new RouterClient({ adminUrl: `http://127.0.0.1:${b.adminPort}`, token: "cli-token" });
    const view = await client2.getRoutes();
    expect(view.table.version).toBe(1);
    expect(view.effective).toEqual({ blue: 0.7, green: 0.3 });
    expect((await request(`http://127.0.0.1:${b.port}/`)).status).toBe(200);
    second.child.kill("SIGTERM");
    expect(await second.exited).toBe(0);
  });
});
