import { describe, expect, it } from "vitest";
import { latencyHistogramText } from "../../../../../infra/local/router/prometheus";
import {
  PROMETHEUS_LATENCY_BOUNDS_S,
  prometheusBucket,
  RouterStats,
} from "../../../../../infra/local/router/stats";
import { parsePrometheus } from "./helpers";

// The latency histogram the router exports is counted by its statistics as
// requests are read and written out at scrape time (not observed through the
// metrics library per request): these pin that the output is still a valid,
// cumulative Prometheus histogram with the same buckets.

describe("router latency histogram for Prometheus", () => {
  it("puts a value in the first bucket whose bound holds it (value <= le)", () => {
    expect(prometheusBucket(0)).toBe(0);
    expect(prometheusBucket(0.0005)).toBe(0);
    expect(prometheusBucket(0.00051)).toBe(1);
    expect(prometheusBucket(10)).toBe(PROMETHEUS_LATENCY_BOUNDS_S.length - 1);
    expect(prometheusBucket(10.5)).toBe(PROMETHEUS_LATENCY_BOUNDS_S.length);
  });

  it("writes cumulative buckets, +Inf, sum and count per backend and version, for answered requests only", () => {
    const stats = new RouterStats();
    const blue = stats.for("blue", "v1");
    for (const latencyMs of [0.4, 1, 3, 20_000])
      blue.record({ kind: "response", status: 200, latencyMs }, Date.now());
    blue.record({ kind: "connection", latencyMs: 0.1 }, Date.now());
    stats.for("green", 'v2 "rc"\\x').record({ kind: "response", status: 503, latencyMs: 60 }, Date.now());

    const samples = parsePrometheus(latencyHistogramText(stats.all()));
    const value = (name: string, labels: Record<string, string>) =>
      samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
        ?.value;
    const name = "shipshape_router_request_duration_seconds";
    const bucket = (le: string) => value(`${name}_bucket`, { backend: "blue", version: "v1", le });
    expect([bucket("0.0005"), bucket("0.001"), bucket("0.0025"), bucket("0.005"), bucket("10")]).toEqual([
      1, 2, 2, 3, 3,
    ]);
    expect(bucket("+Inf")).toBe(4);
    expect(value(`${name}_count`, { backend: "blue" })).toBe(4);
    expect(value(`${name}_sum`, { backend: "blue" })).toBeCloseTo(20.0044, 9);
    // Label values are escaped (the parser keeps the escaped text).
    expect(value(`${name}_count`, { backend: "green", version: 'v2 \\"rc\\"\\\\x' })).toBe(1);
    expect(value(`${name}_bucket`, { backend: "green", le: "0.05" })).toBe(0);
    expect(value(`${name}_bucket`, { backend: "green", le: "0.1" })).toBe(1);
    const bounds = samples.filter((s) => s.name === `${name}_bucket` && s.labels.backend === "blue");
    expect(bounds.map((s) => s.labels.le)).toEqual([...PROMETHEUS_LATENCY_BOUNDS_S.map(String), "+Inf"]);
  });
});
