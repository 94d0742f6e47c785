import { describe, expect, it } from "vitest";
import {
  computeDeliveryStats,
  computeDeliveryStatsByService,
  type DeploymentRecord,
  percentile,
} from "../../../lib/delivery-stats";

const MIN = 60_000;
const base = Date.UTC(2026, 10, 1);

/** A seeded history with answers worked out by hand below. */
const history: DeploymentRecord[] = [
  {
    workflowId: "a",
    service: "shop",
    environment: "prod",
    version: "v1",
    startMs: base,
    endMs: base + 10 * MIN,
    outcome: "promoted",
    steps: { "provisioning-green": 2 * MIN, "step 1 (1%)": 3 * MIN },
  },
  {
    workflowId: "b",
    service: "shop",
    environment: "prod",
    version: "v2",
    startMs: base + 1000 * MIN,
    endMs: base + 1020 * MIN,
    outcome: "promoted",
    steps: { "provisioning-green": 4 * MIN, "step 1 (1%)": 5 * MIN },
  },
  {
    workflowId: "c",
    service: "shop",
    environment: "prod",
    version: "v3",
    startMs: base + 2000 * MIN,
    endMs: base + 2006 * MIN,
    outcome: "rolled-back",
    failurePhase: "shifting-traffic",
    failureMetric: "error-rate",
    failedAtMs: base + 2004 * MIN,
    trafficRestoredAtMs: base + 2004 * MIN + 3000,
    steps: { "provisioning-green": 3 * MIN },
  },
  {
    workflowId: "d",
    service: "cart",
    environment: "prod",
    version: "v9",
    startMs: base + 3000 * MIN,
    endMs: base + 3030 * MIN,
    outcome: "needs-attention",
    failurePhase: "rolling-back",
    failedAtMs: base + 3010 * MIN,
    trafficRestoredAtMs: base + 3010 * MIN + 5000,
  },
  {
    workflowId: "e",
    service: "cart",
    environment: "prod",
    version: "v10",
    startMs: base + 4000 * MIN,
    endMs: null,
    outcome: "running",
  },
];

describe("delivery stats", () => {
  it("nearest-rank percentiles", () => {
    expect(percentile([], 50)).toBeNull();
    expect(percentile([5], 95)).toBe(5);
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 95)).toBe(10);
  });

  it("computes frequency, durations, change failure rate, MTTR, steps and failure locations", () => {
    const s = computeDeliveryStats(history, 5);
    expect(s.deployments).toBe(5);
    expect(s.finished).toBe(4);
    expect(s.deploymentsPerDay).toBe(1);
    // finished durations: 10, 20, 6, 30 minutes → p50 = 10 (rank 2 of 4), p95 = 30
    expect(s.duration).toEqual({ count: 4, p50Ms: 10 * MIN, p95Ms: 30 * MIN });
    expect(s.changeFailureRate).toBe(0.5);
    expect(s.meanTimeToRecoveryMs).toBe(4000); // (3 s + 5 s) / 2
    expect(s.recoveries).toBe(2);
    expect(s.outcomes).toEqual({ promoted: 2, "rolled-back": 1, "needs-attention": 1, running: 1 });
    expect(s.steps["provisioning-green"]).toEqual({ count: 3, p50Ms: 3 * MIN, p95Ms: 4 * MIN });
    expect(s.failuresByPhase).toEqual({ "shifting-traffic": 1, "rolling-back": 1 });
    expect(s.failuresByMetric).toEqual({ "error-rate": 1 });
  });

  it("splits per service", () => {
    const { overall, services } = computeDeliveryStatsByService(history, 5);
    expect(overall.deployments).toBe(5);
    expect(services.shop?.changeFailureRate).toBeCloseTo(1 / 3);
    expect(services.cart?.finished).toBe(1);
    expect(services.cart?.changeFailureRate).toBe(1);
  });

  it("no history gives nulls, not zeros that look like facts", () => {
    const s = computeDeliveryStats([], 7);
    expect(s.changeFailureRate).toBeNull();
    expect(s.meanTimeToRecoveryMs).toBeNull();
    expect(s.duration.p50Ms).toBeNull();
  });
});
