import { describe, expect, it } from "vitest";
import {
  bucketValue,
  LATENCY_BUCKETS,
  latencyBucket,
  RouterStats,
} from "../../../../../infra/local/router/stats";

function clock(start = 1_000_000_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

/** Exact nearest-rank percentile, the reference the histogram is checked against. */
function exact(sorted: number[], q: number): number {
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1]!;
}

describe("latency histogram", () => {
  it("buckets are monotonic and the representative value stays within ~2% of any value in the bucket", () => {
    for (const ms of [0.02, 0.3, 1, 7.7, 50, 999, 30_000]) {
      const i = latencyBucket(ms);
      expect(Math.abs(bucketValue(i) - ms) / ms).toBeLessThan(0.021);
    }
    expect(latencyBucket(0)).toBe(0);
    expect(latencyBucket(1e9)).toBe(LATENCY_BUCKETS - 1);
  });
});

describe("RouterStats", () => {
  it("counts requests, 5xx, connection errors and timeouts; error rate and rps over the window", () => {
    const c = clock();
    const stats = new RouterStats({ now: c.now, maxWindowSeconds: 60 });
    const s = stats.for("green", "v2");
    c.advance(10_000);
    for (let i = 0; i < 90; i++) s.record({ kind: "response", status: 200, latencyMs: 10 }, c.now());
    for (let i = 0; i < 5; i++) s.record({ kind: "response", status: 503, latencyMs: 10 }, c.now());
    for (let i = 0; i < 3; i++) s.record({ kind: "connection", latencyMs: 0.1 }, c.now());
    s.record({ kind: "timeout", latencyMs: 30_000 }, c.now());
    s.record({ kind: "response", status: 404, latencyMs: 10 }, c.now());
    s.upstreamFailure(c.now());
    const snap = stats.snapshot(10).backends.green!;
    expect(snap).toMatchObject({
      version: "v2",
      requests: 100,
      errors: 9,
      errors5xx: 5,
      connectionErrors: 3,
      timeouts: 1,
      upstreamFailures: 1,
      errorRate: 0.09,
    });
    // Only answered requests carry latency: 96 samples, all exactly 10 ms.
    expect(snap.latencyMs).toMatchObject({ count: 96, p50: 10, p95: 10, p99: 10, mean: 10, max: 10 });
    // The window spans 9 full seconds plus the current partial one (0 ms into it).
    expect(snap.rps).toBeCloseTo(100 / 9, 6);
  });

  it("percentiles track the exact values within the histogram resolution", () => {
    const c = clock();
    const stats = new RouterStats({ now: c.now });
    const s = stats.for("blue", "v1");
    // Log-normal-ish latencies from a fixed sequence: a long tail like real traffic.
    const samples: number[] = [];
    let x = 12345;
    for (let i = 0; i < 5000; i++) {
      x = (x * 1103515245 + 12345) % 2147483648;
      const u = x / 2147483648;
      samples.push(Math.exp(1 + 1.5 * u * u * 2));
    }
    for (const v of samples) s.record({ kind: "response", status: 200, latencyMs: v }, c.now());
    const sorted = [...samples].sort((a, b) => a - b);
    const l = stats.snapshot(30).backends.blue!.latencyMs!;
    for (const [q, got] of [
      [0.5, l.p50],
      [0.95, l.p95],
      [0.99, l.p99],
    ] as const) {
      expect(Math.abs(got - exact(sorted, q)) / exact(sorted, q)).toBeLessThan(0.021);
    }
    expect(l.max).toBe(sorted[sorted.length - 1]);
  });

  it("slides: buckets older than the window drop out, cumulative totals stay", () => {
    const c = clock();
    const stats = new RouterStats({ now: c.now, maxWindowSeconds: 30 });
    const s = stats.for("blue", "v1");
    c.advance(100_000);
    for (let i = 0; i < 10; i++) s.record({ kind: "response", status: 500, latencyMs: 100 }, c.now());
    c.advance(5_000);
    for (let i = 0; i < 20; i++) s.record({ kind: "response", status: 200, latencyMs: 1 }, c.now());
    expect(stats.snapshot(10).backends.blue).toMatchObject({ requests: 30, errors: 10 });
    expect(stats.snapshot(5).backends.blue).toMatchObject({ requests: 20, errors: 0 });
    expect(stats.snapshot(5).backends.blue!.latencyMs!.p99).toBe(1);
    c.advance(30_000);
    // 35 s after the first burst: both bursts are older than the largest window.
    const later = stats.snapshot(30).backends.blue!;
    expect(later).toMatchObject({ requests: 0, errors: 0, latencyMs: null, errorRate: 0 });
    expect(later.total).toMatchObject({ requests: 30, errors: 10, errors5xx: 10 });
  });

  it("a new version label under the same backend starts a fresh series; retain drops removed backends", () => {
    const c = clock();
    const stats = new RouterStats({ now: c.now });
    stats.for("green", "v2").record({ kind: "response", status: 500, latencyMs: 5 }, c.now());
    expect(stats.for("green", "v2").total.requests).toBe(1);
    const v3 = stats.for("green", "v3");
    expect(v3.total.requests).toBe(0);
    expect(stats.snapshot(30).backends.green).toMatchObject({ version: "v3", requests: 0 });
    stats.retain(["blue"]);
    expect(stats.snapshot(30).backends).toEqual({});
  });

  it("counts unrouted requests and validates the window", () => {
    const c = clock();
    const stats = new RouterStats({ now: c.now, maxWindowSeconds: 60 });
    stats.unrouted();
    stats.unrouted();
    expect(stats.snapshot(1).unrouted).toEqual({ window: 2, total: 2 });
    expect(() => stats.snapshot(0)).toThrow(RangeError);
    expect(() => stats.snapshot(61)).toThrow(RangeError);
    expect(() => stats.snapshot(1.5)).toThrow(RangeError);
  });
});
