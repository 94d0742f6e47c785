import { NOTIFICATION_SCHEMA_VERSION, type Notification } from "../../../../lib/notifications/payload";

/** A notification as the workflow builds it (rolled back by a failing metric). */
export function samplePayload(overrides: Partial<Notification> = {}): Notification {
  return {
    schemaVersion: NOTIFICATION_SCHEMA_VERSION,
    id: "dep-1:7",
    sequence: 7,
    event: "rolled-back",
    at: "2026-12-03T07:00:00.000Z",
    deployment: {
      deploymentId: "dep-1",
      service: "shop",
      environment: "production",
      version: "v2",
      previousVersion: "v1",
      artifactDigest: "sha256:abc",
      phase: "rolling-back",
      weights: { blue: 100, green: 0 },
      step: { index: 2, total: 3 },
      endpoint: "http://127.0.0.1:8080",
      requestedBy: "alice",
    },
    summary: "shop/production v2 rolled back: analysis failed: error-rate 20% > max 1% at 50% traffic",
    details: {
      reason: "analysis failed: error-rate 20% > max 1% at 50% traffic",
      trippingMetric: {
        metric: "error-rate",
        value: 0.2,
        threshold: "max 1%",
        line: "error-rate 20% > max 1% at 50% traffic",
      },
      verdicts: [
        {
          metric: "error-rate",
          verdict: "fail",
          critical: true,
          value: 0.2,
          baseline: 0.001,
          threshold: "max 1%",
          reason: "error-rate 20% > max 1%",
        },
        {
          metric: "latency-p99",
          verdict: "pass",
          critical: false,
          value: 182.5,
          baseline: 170,
          threshold: "max +20% vs baseline",
          reason: "latency-p99 182.5 ≤ 204",
        },
      ],
      decision: "fail",
      verdictLine: "error-rate 20% > max 1% at 50% traffic",
    },
    commands: {
      status: "shipshape status shop/production",
      abort: 'shipshape abort shop/production --reason "why"',
    },
    ...overrides,
  };
}
