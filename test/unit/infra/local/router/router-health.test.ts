import { afterEach, describe, expect, it } from "vitest";
import {
  admin,
  count,
  hammer,
  killAllBackends,
  type Reply,
  removeDir,
  request,
  startBackend,
  startTestRouter,
  type TestRouter,
  twoBackends,
  waitUntil,
} from "./helpers";

// Health: the router must never send users to a backend it knows is down
// (invariant 1), and must limit the damage before it knows.
// Test routers check every 100 ms with a 200 ms timeout, fall = rise = 2.

let routers: TestRouter[] = [];
afterEach(async () => {
  for (const r of routers) {
    await r.close();
    await removeDir(r.dir);
  }
  routers = [];
  await killAllBackends();
});

async function router(opts: Parameters<typeof startTestRouter>[0] = {}) {
  const r = await startTestRouter(opts);
  routers.push(r);
  return r;
}

const routes = async (r: TestRouter) => JSON.parse((await admin(r, "/admin/routes")).body);
const stats = async (r: TestRouter) => JSON.parse((await admin(r, "/admin/stats?window=60")).body);

describe("router: unhealthy backends", () => {
  it("a backend failing its health check stops receiving traffic within fall x interval, and none after", async () => {
    const blue = await startBackend("blue");
    const green = await startBackend("green");
    const r = await router();
    await admin(r, "/admin/routes", {
      method: "PUT",
      body: twoBackends([blue], [green], { blue: 50, green: 50 }),
    });

    // Users keep hammering while green goes sick; the process still answers
    // (only /health fails), so no user request may fail at any point.
    const replies: Reply[] = [];
    let stop = false;
    const traffic = Array.from({ length: 4 }, async () => {
      for (let i = 0; i < 5000 && !stop; i++) replies.push(await request(`${r.url}/`));
    });
    await new Promise((res) => setTimeout(res, 100));
    green.healthy = false;
    await waitUntil(
      async () => (await routes(r)).backends.green.healthy.length === 0,
      3000,
      "green to be marked down",
    );
    // Counted, not timed: marked down after `fall` (2) failed checks, one
    // more at most when a check was in flight as the view was read.
    expect(green.failedHealthChecks).toBeGreaterThanOrEqual(2);
    expect(green.failedHealthChecks).toBeLessThanOrEqual(3);
    const hitsAtDetection = green.hits;
    await new Promise((res) => setTimeout(res, 300));
    stop = true;
    await Promise.all(traffic);

    expect(green.hits).toBe(hitsAtDetection); // zero requests after detection
    expect(replies.every((x) => x.status === 200)).toBe(true);
    const more = await hammer(`${r.url}/`, 300, 8);
    expect(count(more)).toEqual({ blue: 300 });
    expect(green.hits).toBe(hitsAtDetection);

    // Recovery needs `rise` good checks.
    green.healthy = true;
    await waitUntil(async () => (await routes(r)).backends.green.healthy.length === 1, 3000, "green back up");
    expect(count(await hammer(`${r.url}/`, 200, 8)).green).toBeGreaterThan(50);
  });

  it("a killed backend process costs at most k failed requests (k = its instances, sequential traffic), then zero", async () => {
    const blue = await startBackend("blue");
    const g1 = await startBackend("green-1");
    const g2 = await startBackend("green-2");
    // Long interval: detection here must come from the proxied requests
    // themselves (passive ejection), not from a lucky health check.
    const r = await router({ healthCheck: { intervalMs: 60_000, timeoutMs: 200, rise: 2, fall: 2 } });
    await admin(r, "/admin/routes", {
      method: "PUT",
      body: twoBackends([blue], [g1, g2], { blue: 50, green: 50 }),
    });
    expect(count(await hammer(`${r.url}/`, 100, 1)).green).toBeGreaterThan(20);

    await Promise.all([g1.kill(), g2.kill()]);
    const after = await hammer(`${r.url}/`, 400, 1);
    const failures = after.filter((x) => x.status !== 200);
    // Sequential: the first request drawn for green is refused by instance A
    // (A ejected at once: observe layer4, error-limit 1) and retried on B,
    // refused too (B ejected). Worst case each of the k = 2 instances costs one
    // failed request; HAProxy answers 503 when no instance took the connection.
    expect(failures.length).toBeGreaterThanOrEqual(1);
    expect(failures.length).toBeLessThanOrEqual(2);
    for (const f of failures) {
      expect(f).toMatchObject({ status: 503, backend: "green" });
      expect(JSON.parse(f.body)).toMatchObject({ error: "backend_unreachable" });
    }
    const lastFailure = after.lastIndexOf(failures[failures.length - 1]!);
    expect(lastFailure).toBeLessThan(200); // detection is immediate, not a health interval (60 s here)
    expect(after.slice(lastFailure + 1).every((x) => x.status === 200 && x.backend === "blue")).toBe(true);
    const view = await routes(r);
    expect(view.backends.green.healthy).toEqual([]);
    expect(view.effective).toEqual({ blue: 1, green: 0 });
    const s = (await stats(r)).backends.green;
    expect(s.connectionErrors).toBe(failures.length);
    expect(s.upstreamFailures).toBe(2 * failures.length); // each failed user request = first attempt + retry
  });

  it("a request an instance never received (refused) is retried once on another instance of the same backend, whatever its method, never on the other backend", async () => {
    const a = await startBackend("blue-a");
    const b = await startBackend("blue-b");
    const r = await router({ healthCheck: { intervalMs: 60_000, timeoutMs: 200, rise: 2, fall: 2 } });
    await admin(r, "/admin/routes", {
      method: "PUT",
      body: { backends: { blue: { version: "v1", instances: [a.url, b.url], weight: 100 } } },
    });
    await a.kill();
    const gets = await hammer(`${r.url}/`, 4, 1);
    expect(gets.map((x) => x.status)).toEqual([200, 200, 200, 200]);
    expect(b.hits).toBe(4);
    let s = (await stats(r)).backends.blue;
    expect(s).toMatchObject({ requests: 4, errors: 0, upstreamFailures: 1 });

    // A refused connection means the instance never saw the request: replaying
    // a POST is as safe as a GET (a fresh pair, the first one dead).
    const c = await startBackend("blue-c");
    const d = await startBackend("blue-d");
    await admin(r, "/admin/routes", {
      method: "PUT",
      body: { backends: { blue: { version: "v1", instances: [c.url, d.url], weight: 100 } } },
    });
    await c.kill();
    const posts: Reply[] = [];
    for (let i = 0; i < 4; i++)
      posts.push(await request(`${r.url}/order`, { method: "POST", body: '{"n":1}' }));
    expect(posts.map((x) => x.status)).toEqual([200, 200, 200, 200]);
    expect(d.hits).toBe(4);

    // Only backend's instances dead: the GET is not retried on another backend.
    const green = await startBackend("green");
    await admin(r, "/admin/routes", {
      method: "PUT",
      body: {
        backends: { green: { version: "v2", instances: [green.url], weight: 0 } },
        weights: { blue: 100 },
      },
    });
    await d.kill();
    const first = await request(`${r.url}/`);
    expect(first).toMatchObject({ status: 503, backend: "blue" });
    // Now blue is known dead: users are served by the healthy standby (fallback rule).
    expect(count(await hammer(`${r.url}/`, 20, 2))).toEqual({ green: 20 });
    s = (await stats(r)).backends.blue;
    expect(s.connectionErrors).toBe(1);
  });

  it("a request the instance dropped after reading it is replayed only when that is safe: GET once, POST never", async () => {
    let crashes = 0;
    const flaky = await startBackend("blue", { hangUp: () => ++crashes > 0 });
    const r = await router({ healthCheck: false });
    await admin(r, "/admin/routes", {
      method: "PUT",
      body: { backends: { blue: { version: "v1", instances: [flaky.url], weight: 100 } } },
    });
    const get = await request(`${r.url}/`);
    expect(get).toMatchObject({ status: 502, backend: "blue" });
    expect(flaky.hits).toBe(2); // the GET was tried again once
    const post = await request(`${r.url}/order`, { method: "POST", body: '{"n":1}' });
    expect(post).toMatchObject({ status: 502, backend: "blue" });
    expect(flaky.hits).toBe(3); // the POST was not: the instance may have acted on it
    expect((await stats(r)).backends.blue).toMatchObject({ errors: 2, connectionErrors: 2, latencyMs: null });
  });

  it("a backend that does not answer within proxyTimeoutMs gets a 504 counted as a timeout", async () => {
    const slow = await startBackend("blue", { delayMs: 1500 });
    const r = await router({ proxyTimeoutMs: 200 });
    await admin(r, "/admin/routes", {
      method: "PUT",
      body: { backends: { blue: { version: "v1", instances: [slow.url], weight: 100 } } },
    });
    const reply = await request(`${r.url}/`);
    expect(reply).toMatchObject({ status: 504, backend: "blue" });
    expect(reply.endedAt - reply.startedAt).toBeLessThan(1000);
    expect((await stats(r)).backends.blue).toMatchObject({
      requests: 1,
      errors: 1,
      timeouts: 1,
      latencyMs: null,
    });
  });
});
