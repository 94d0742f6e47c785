import { afterEach, describe, expect, it } from "vitest";
import { HealthChecker, type HealthStatus } from "../../../../../infra/local/router/health-checker";
import { killAllBackends, startBackend, waitUntil } from "./helpers";

afterEach(killAllBackends);

// probe() is driven by hand here so thresholds are checked check-by-check,
// without depending on timer scheduling.
describe("HealthChecker", () => {
  it("admits a new instance on its first good check and applies fall/rise thresholds after that", async () => {
    const b = await startBackend("b");
    const changes: Array<[HealthStatus, HealthStatus]> = [];
    const hc = new HealthChecker({ rise: 3, fall: 2, timeoutMs: 500 }, (_i, from, to) =>
      changes.push([from, to]),
    );
    hc.setTargets([{ instance: b.url, path: "/health" }]);
    expect(hc.isUp(b.url)).toBe(false); // unknown is not routable
    await hc.probe();
    expect(hc.isUp(b.url)).toBe(true);

    b.healthy = false;
    await hc.probe();
    expect(hc.isUp(b.url)).toBe(true); // one failure is a flap, not an outage (fall = 2)
    await hc.probe();
    expect(hc.isUp(b.url)).toBe(false);
    expect(hc.get(b.url)?.lastError).toBe("HTTP 503");

    b.healthy = true;
    await hc.probe();
    await hc.probe();
    expect(hc.isUp(b.url)).toBe(false); // rise = 3
    await hc.probe();
    expect(hc.isUp(b.url)).toBe(true);
    expect(changes).toEqual([
      ["unknown", "up"],
      ["up", "down"],
      ["down", "up"],
    ]);
    expect(b.hits).toBe(0); // health checks are not user traffic
  });

  it("passive: a definitive failure ejects at once; an ambiguous one counts toward fall and triggers a check", async () => {
    const b = await startBackend("b");
    const hc = new HealthChecker({ rise: 2, fall: 2, intervalMs: 60_000 });
    hc.setTargets([{ instance: b.url, path: "/health" }]);
    await hc.probe();
    hc.reportFailure(b.url, "ECONNREFUSED", true);
    expect(hc.get(b.url)).toMatchObject({ status: "down", lastError: "proxied request: ECONNREFUSED" });
    await hc.probe();
    await hc.probe();
    expect(hc.isUp(b.url)).toBe(true);

    // Ambiguous (stale keep-alive socket) on a healthy instance: the immediate
    // check passes, so the instance stays in.
    hc.reportFailure(b.url, "ECONNRESET", false);
    expect(hc.isUp(b.url)).toBe(true);
    await waitUntil(() => hc.get(b.url)?.consecutiveOk === 1, 2000, "out-of-band check");
    expect(hc.get(b.url)).toMatchObject({ status: "up", consecutiveFail: 0 });

    // Ambiguous on a dead instance: the immediate check is refused -> fall reached.
    await b.kill();
    hc.reportFailure(b.url, "ECONNRESET", false);
    await waitUntil(() => !hc.isUp(b.url), 2000, "out-of-band check to eject");
    expect(hc.get(b.url)?.lastError).toBe("ECONNREFUSED");
  });

  it("a refused connection is a failed check", async () => {
    const dead = await startBackend("dead");
    await dead.kill();
    const hc = new HealthChecker();
    hc.setTargets([{ instance: dead.url, path: "/health" }]);
    await hc.probe();
    expect(hc.get(dead.url)).toMatchObject({ status: "down", lastError: "ECONNREFUSED" });
  });

  it("times out a hanging health endpoint", async () => {
    const net = await import("node:net");
    // Accepts connections and never answers.
    const sockets: import("node:net").Socket[] = [];
    const server = net.createServer((s) => sockets.push(s));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(server.address() as import("node:net").AddressInfo).port}`;
    const hc = new HealthChecker({ timeoutMs: 100 });
    hc.setTargets([{ instance: url, path: "/health" }]);
    const started = performance.now();
    await hc.probe();
    expect(performance.now() - started).toBeLessThan(1000);
    expect(hc.get(url)).toMatchObject({ status: "down", lastError: "timeout after 100 ms" });
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  });

  it("runs on its interval once started and stops cleanly", async () => {
    const b = await startBackend("b");
    const hc = new HealthChecker({ intervalMs: 50, rise: 1, fall: 1 });
    hc.setTargets([{ instance: b.url, path: "/health" }]);
    hc.start();
    await waitUntil(() => hc.isUp(b.url), 2000, "first check");
    b.healthy = false;
    await waitUntil(() => !hc.isUp(b.url), 2000, "detection");
    hc.stop();
    b.healthy = true;
    await new Promise((r) => setTimeout(r, 200));
    expect(hc.isUp(b.url)).toBe(false); // stopped: no more checks
  });

  it("keeps state for known instances and forgets removed ones", async () => {
    const a = await startBackend("a");
    const hc = new HealthChecker();
    hc.setTargets([{ instance: a.url, path: "/health" }]);
    await hc.probe();
    hc.setTargets([
      { instance: a.url, path: "/health" },
      { instance: "http://127.0.0.1:1", path: "/health" },
    ]);
    expect(hc.isUp(a.url)).toBe(true);
    expect(hc.get("http://127.0.0.1:1")?.status).toBe("unknown");
    hc.setTargets([]);
    expect(hc.snapshot()).toEqual([]);
  });
});
