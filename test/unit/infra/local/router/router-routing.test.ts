import { afterEach, describe, expect, it } from "vitest";
import {
  admin,
  count,
  hammer,
  killAllBackends,
  override,
  removeDir,
  request,
  startBackend,
  startTestRouter,
  type TestRouter,
  twoBackends,
  waitUntil,
} from "./helpers";

// Real HTTP through the router (a real HAProxy driven by the control process
// running in this test process) on loopback: backends are tiny node servers
// started here, so these run without the integration global setup.

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

describe("router: weighted split", () => {
  it("sends 10% to green over 10,000 requests, within a 4-sigma binomial tolerance", async () => {
    const blue = await startBackend("blue");
    const green = await startBackend("green");
    const r = await router();
    const put = await admin(r, "/admin/routes", {
      method: "PUT",
      body: twoBackends([blue], [green], { blue: 90, green: 10 }),
    });
    expect(put.status).toBe(200);

    const replies = await hammer(`${r.url}/item`, 10_000, 16);
    const c = count(replies);
    // Each request independently goes to green with p = 0.1, so the green count
    // is Binomial(10000, 0.1): mean 1000, sigma = sqrt(10000*0.1*0.9) = 30.
    // |count - 1000| <= 120 (4 sigma) fails by chance ~6 times in 100,000 runs,
    // while a real bias of 1.5 points (e.g. 8.5% or 11.5%) fails it for sure.
    expect(c.green! + c.blue!).toBe(10_000);
    expect(Math.abs(c.green! - 1000)).toBeLessThanOrEqual(120);
    // The header agrees with the server that actually answered.
    expect(green.hits).toBe(c.green);
    expect(blue.hits).toBe(c.blue);
  });

  it("a weight switch applies to every request sent after the PUT returns (< 50 ms), even under load", async () => {
    const blue = await startBackend("blue");
    const green = await startBackend("green");
    const r = await router();
    await admin(r, "/admin/routes", {
      method: "PUT",
      body: twoBackends([blue], [green], { blue: 100, green: 0 }),
    });

    // Background load over keep-alive connections while the switch happens.
    let stop = false;
    const background: Array<{ startedAt: number; backend: string | undefined }> = [];
    const loops = Array.from({ length: 4 }, async () => {
      for (let i = 0; i < 2000 && !stop; i++) {
        const rep = await request(`${r.url}/bg`);
        background.push({ startedAt: rep.startedAt, backend: rep.backend });
      }
    });
    await new Promise((res) => setTimeout(res, 100));

    const put = await admin(r, "/admin/routes", {
      method: "PUT",
      body: { weights: { blue: 0, green: 100 } },
    });
    const returnedAt = put.endedAt;
    expect(put.status).toBe(200);
    const first = await request(`${r.url}/after`);
    expect(first.backend).toBe("green");
    // The first request after the PUT returned was served by green within 50 ms.
    expect(first.endedAt - returnedAt).toBeLessThan(50);

    await new Promise((res) => setTimeout(res, 100));
    stop = true;
    await Promise.all(loops);
    const after = background.filter((b) => b.startedAt > returnedAt);
    expect(after.length).toBeGreaterThan(10);
    expect(after.every((b) => b.backend === "green")).toBe(true);
    expect(background.some((b) => b.startedAt < returnedAt - 50 && b.backend === "blue")).toBe(true);
  });

  it("draining: weight 0 gets no new requests while its in-flight request finishes", async () => {
    const blue = await startBackend("blue");
    const green = await startBackend("green", { delayMs: 600 });
    const r = await router();
    await admin(r, "/admin/routes", {
      method: "PUT",
      body: twoBackends([blue], [green], { blue: 0, green: 100 }),
    });

    const slow = request(`${r.url}/slow`);
    await waitUntil(() => green.hits === 1, 2000, "slow request to reach green");
    const put = await admin(r, "/admin/routes", {
      method: "PUT",
      body: { weights: { blue: 100, green: 0 } },
    });
    expect(JSON.parse(put.body).backends.green).toMatchObject({ inflight: 1, draining: true });

    const during = await hammer(`${r.url}/new`, 50, 5);
    expect(count(during)).toEqual({ blue: 50 });
    const finished = await slow;
    expect(finished).toMatchObject({ status: 200, backend: "green", body: "green" });
    const routes = JSON.parse((await admin(r, "/admin/routes")).body);
    expect(routes.backends.green).toMatchObject({ inflight: 0, draining: false });
    expect(green.hits).toBe(1);
  });
});

describe("router: header override and stickiness", () => {
  it("x-shipshape-version with the override token targets green at weight 0, is strict about unknown or unhealthy targets", async () => {
    const blue = await startBackend("blue");
    const green = await startBackend("green");
    const r = await router();
    await admin(r, "/admin/routes", {
      method: "PUT",
      body: twoBackends([blue], [green], { blue: 100, green: 0 }),
    });

    expect(count(await hammer(`${r.url}/`, 20, 4, override(r, "green")))).toEqual({ green: 20 });
    expect(count(await hammer(`${r.url}/`, 20, 4, override(r, "v2")))).toEqual({ green: 20 });
    expect(count(await hammer(`${r.url}/`, 20, 4))).toEqual({ blue: 20 });
    // Without the token (or with a wrong one) the header is just ignored: routed like any user.
    expect(count(await hammer(`${r.url}/`, 20, 4, { "x-shipshape-version": "green" }))).toEqual({ blue: 20 });
    const wrong = { "x-shipshape-version": "green", "x-shipshape-override-token": "not-the-token-000000" };
    expect(count(await hammer(`${r.url}/`, 20, 4, wrong))).toEqual({ blue: 20 });
    const unknown = await request(`${r.url}/`, { headers: override(r, "purple") });
    expect(unknown.status).toBe(400);
    expect(unknown.body).toContain("purple");

    green.healthy = false;
    await waitUntil(
      async () => JSON.parse((await admin(r, "/admin/routes")).body).backends.green.healthy.length === 0,
      3000,
      "green marked unhealthy",
    );
    const sick = await request(`${r.url}/`, { headers: override(r, "green") });
    expect(sick.status).toBe(503);
    expect(JSON.parse(sick.body).message).toContain("green");
  });

  it("the override token is per deployment: a new green version gets a new one, and only it works", async () => {
    const blue = await startBackend("blue");
    const green = await startBackend("green");
    const r = await router();
    await admin(r, "/admin/routes", {
      method: "PUT",
      body: twoBackends([blue], [green], { blue: 100, green: 0 }),
    });
    const first = override(r, "green");
    expect((await request(`${r.url}/`, { headers: first })).backend).toBe("green");
    await admin(r, "/admin/routes", {
      method: "PUT",
      body: { backends: { green: { version: "v3", instances: [green.url], weight: 0 } } },
    });
    const second = override(r, "green");
    expect(second["x-shipshape-override-token"]).not.toBe(first["x-shipshape-override-token"]);
    expect((await request(`${r.url}/`, { headers: first })).backend).toBe("blue");
    expect((await request(`${r.url}/`, { headers: second })).backend).toBe("green");
    // The token never reaches the service.
    expect(green.lastHeaders?.["x-shipshape-override-token"]).toBeUndefined();
  });

  it("sticky cookie keeps a user on one backend, re-assigns when it drains, and keeps upstream cookies", async () => {
    const blue = await startBackend("blue", { setCookie: "session=abc; Path=/" });
    const green = await startBackend("green", { setCookie: "session=def; Path=/" });
    const r = await router();
    await admin(r, "/admin/routes", {
      method: "PUT",
      body: { ...twoBackends([blue], [green], { blue: 50, green: 50 }), sticky: true },
    });

    const first = await request(`${r.url}/`);
    const cookies = first.headers["set-cookie"] ?? [];
    expect(cookies).toContain(`shipshape_backend=${first.backend}; Path=/; HttpOnly; SameSite=Lax`);
    expect(cookies.some((c) => c.startsWith("session="))).toBe(true);

    const pinned = await hammer(`${r.url}/`, 100, 4, {
      cookie: `session=x; shipshape_backend=${first.backend}`,
    });
    expect(count(pinned)).toEqual({ [first.backend!]: 100 });
    // Already pinned: no new sticky cookie.
    expect(
      pinned.every((p) => !(p.headers["set-cookie"] ?? []).some((c) => c.startsWith("shipshape_backend"))),
    ).toBe(true);

    // Without the cookie the split is still ~50/50 (loose bound: 200 draws, > 6 sigma).
    const free = count(await hammer(`${r.url}/`, 200, 4));
    expect(free.blue).toBeGreaterThan(50);
    expect(free.green).toBeGreaterThan(50);

    // Rolling the pinned backend to weight 0 moves its users and re-pins them.
    const other = first.backend === "blue" ? "green" : "blue";
    await admin(r, "/admin/routes", {
      method: "PUT",
      body: { weights: { [first.backend!]: 0, [other]: 100 } },
    });
    const moved = await request(`${r.url}/`, { headers: { cookie: `shipshape_backend=${first.backend}` } });
    expect(moved.backend).toBe(other);
    expect(moved.headers["set-cookie"]).toContain(
      `shipshape_backend=${other}; Path=/; HttpOnly; SameSite=Lax`,
    );
  });

  it("with stickiness off the cookie is ignored", async () => {
    const blue = await startBackend("blue");
    const green = await startBackend("green");
    const r = await router();
    await admin(r, "/admin/routes", {
      method: "PUT",
      body: twoBackends([blue], [green], { blue: 100, green: 0 }),
    });
    const reply = await request(`${r.url}/`, { headers: { cookie: "shipshape_backend=green" } });
    expect(reply.backend).toBe("blue");
    expect(reply.headers["set-cookie"]).toBeUndefined();
  });
});

describe("router: routing table lifecycle", () => {
  it("PUT is idempotent: the same body twice gives the same table and version", async () => {
    const blue = await startBackend("blue");
    const green = await startBackend("green");
    const r = await router();
    const body = twoBackends([blue], [green], { blue: 90, green: 10 });
    const a = JSON.parse((await admin(r, "/admin/routes", { method: "PUT", body })).body);
    const b = JSON.parse((await admin(r, "/admin/routes", { method: "PUT", body })).body);
    expect(a).toMatchObject({ version: 1, changed: true });
    expect(b).toMatchObject({ version: 1, changed: false });
    expect(b.table).toEqual(a.table);
    const w = { weights: { blue: 50, green: 50 }, ifVersion: 1 };
    expect(JSON.parse((await admin(r, "/admin/routes", { method: "PUT", body: w })).body)).toMatchObject({
      version: 2,
      changed: true,
    });
    // Same patch again with the now-stale ifVersion: already applied, so no conflict.
    expect(JSON.parse((await admin(r, "/admin/routes", { method: "PUT", body: w })).body)).toMatchObject({
      version: 2,
      changed: false,
    });
    const conflict = await admin(r, "/admin/routes", {
      method: "PUT",
      body: { weights: { green: 1 }, ifVersion: 1 },
    });
    expect(conflict.status).toBe(409);
    const invalid = await admin(r, "/admin/routes", { method: "PUT", body: { weights: { green: -5 } } });
    expect(invalid.status).toBe(400);
  });

  it("a router restart keeps the weights (same state file, same table, same split)", async () => {
    const blue = await startBackend("blue");
    const green = await startBackend("green");
    const first = await router();
    await admin(first, "/admin/routes", {
      method: "PUT",
      body: twoBackends([blue], [green], { blue: 0, green: 100 }),
    });
    await admin(first, "/admin/routes", { method: "PUT", body: { weights: { blue: 25, green: 75 } } });
    const before = JSON.parse((await admin(first, "/admin/routes")).body).table;
    await first.close();
    routers = routers.filter((x) => x !== first);

    const second = await router({ stateFile: first.stateFile, dir: first.dir });
    const after = JSON.parse((await admin(second, "/admin/routes")).body);
    expect(after.table).toEqual(before);
    expect(after.effective).toEqual({ blue: 0.25, green: 0.75 });
    // Health is re-established before the listener opens: the first requests are routed, not 503.
    const c = count(await hammer(`${second.url}/`, 400, 8));
    expect(c.blue! + c.green!).toBe(400);
    // 75% of 400: mean 300, sigma ~8.7; 5 sigma bound.
    expect(Math.abs(c.green! - 300)).toBeLessThan(45);
  });

  it("new instances are health-checked before the PUT returns; a dead one never gets traffic", async () => {
    const blue = await startBackend("blue");
    const dead = await startBackend("dead");
    await dead.kill();
    const r = await router();
    const put = JSON.parse(
      (
        await admin(r, "/admin/routes", {
          method: "PUT",
          body: twoBackends([blue], [dead], { blue: 50, green: 50 }),
        })
      ).body,
    );
    expect(put.effective).toEqual({ blue: 1, green: 0 });
    expect(put.backends.green.unhealthy).toEqual([dead.url]);
    expect(count(await hammer(`${r.url}/`, 100, 4))).toEqual({ blue: 100 });
  });

  it("close() stops accepting but lets in-flight requests finish (graceful stop)", async () => {
    const slow = await startBackend("blue", { delayMs: 400 });
    const r = await startTestRouter();
    await admin(r, "/admin/routes", {
      method: "PUT",
      body: { backends: { blue: { version: "v1", instances: [slow.url], weight: 1 } } },
    });
    const inFlight = request(`${r.url}/`);
    await waitUntil(() => slow.hits === 1, 2000, "request to reach the backend");
    const closed = r.close();
    expect(await inFlight).toMatchObject({ status: 200, body: "blue" });
    await closed;
    await expect(request(`${r.url}/`)).rejects.toThrow();
    await removeDir(r.dir);
  });

  it("503 with a clear body when no backend is healthy, counted as unrouted", async () => {
    const r = await router();
    const none = await request(`${r.url}/`);
    expect(none.status).toBe(503);
    expect(JSON.parse(none.body)).toMatchObject({ error: "no_healthy_backend" });
    // Read right after the answer: the stats wait for HAProxy's log to catch up (flush marker).
    expect(JSON.parse((await admin(r, "/admin/stats")).body).unrouted).toEqual({ window: 1, total: 1 });
  });
});
