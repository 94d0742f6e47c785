import { describe, expect, it } from "vitest";
import type { Followed } from "../../../../scripts/demo/follow";
import { timeToRecovery } from "../../../../scripts/demo/recovery";
import type { DeploymentStatus } from "../../../../workflows/deployment/state";
import { deploymentStatus } from "../../../support/status-fixture";

function status(over: Partial<DeploymentStatus>): DeploymentStatus {
  return deploymentStatus({
    environment: "demo",
    version: "v3",
    blueVersion: "v2",
    phase: "rolled-back",
    outcome: "rolled-back",
    outcomeReason: "x",
    step: { index: 1, total: 3, weight: 1 },
    weights: { blue: 100, green: 0 },
    analysis: { status: "failed", verdicts: [], decisions: [] },
    ...over,
  });
}

function followed(s: DeploymentStatus, maxGreenWeight: number): Followed {
  return {
    result: { deploymentId: "d", outcome: "rolled-back", reason: "x", compensations: [], decisions: [] },
    runId: "run-1",
    status: s,
    startedAt: 0,
    endedAt: 60_000,
    maxGreenWeight,
    failedAt: null,
    trafficBackAt: null,
    phases: [],
    failedMeasurements: [],
  };
}

const comp = (name: string, startedAtMs: number, endedAtMs: number) => ({
  name,
  kind: "other" as const,
  status: "done" as const,
  attempts: 1,
  lastError: null,
  startedAtMs,
  endedAtMs,
});

describe("time to recovery of a rolled-back deployment", () => {
  it("with user traffic on green: from the failing verdict to traffic back on blue", () => {
    const s = status({
      analysis: {
        status: "failed",
        decisions: [],
        verdicts: [
          { decision: "fail", metric: "error-rate", line: "…", stepIndex: 1, weightPercent: 1, atMs: 10_000 },
        ],
      },
      compensations: [comp("restoreTraffic", 10_050, 10_400), comp("destroyGreen", 10_400, 25_000)],
    });
    expect(timeToRecovery(followed(s, 1))).toEqual({ ms: 400, what: "traffic back on v2" });
  });

  it("stopped before any user traffic (e.g. at verification): from the stop to the rollback done — never '—'", () => {
    const s = status({
      decisions: [{ atMs: 5_000, kind: "failure", by: "shipshape", reason: "verifying-green failed" }],
      phases: [
        { phase: "verifying-green", startedAtMs: 4_000, endedAtMs: 5_000, durationMs: 1_000 },
        { phase: "rolling-back", startedAtMs: 5_000, endedAtMs: 21_500, durationMs: 16_500 },
      ],
      compensations: [comp("rollbackSchema", 5_000, 5_600), comp("destroyGreen", 5_600, 21_400)],
    });
    expect(timeToRecovery(followed(s, 0))).toEqual({ ms: 16_500, what: "rolled back" });
  });
});
