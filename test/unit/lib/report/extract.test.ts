import { describe, expect, it } from "vitest";
import { extractReport, NotADeploymentError } from "../../../../lib/report/extract";
import { ReportModelSchema } from "../../../../lib/report/model";
import { recordedHistory, recordedHistoryNames } from "../../../support/recorded-history";

describe("report extractor over recorded DeploymentWorkflow histories", () => {
  it("an analysis failure: weights, the metric's series and verdicts, the stop, compensations, time to recovery", async () => {
    const m = extractReport(await recordedHistory("analysis-failure"));
    expect(m).toMatchObject({
      workflowId: "shipshape:shop:production",
      runId: "run-analysis-failure",
      deploymentId: "dep-1",
      service: "shop",
      environment: "production",
      version: "v2",
      blueVersion: "v1",
      requestedBy: "alice",
      reason: "release 2",
      outcome: "rolled-back",
      outcomeReason: "analysis failed: error-rate 20% > max 1% at 50% traffic (1 of 1 sample, critical)",
    });
    expect(m.phases.map((p) => p.phase)).toEqual([
      "validating",
      "preflight",
      "provisioning-green",
      "expanding-schema",
      "verifying-green",
      "shifting-traffic",
      "rolling-back",
      "rolled-back",
    ]);
    expect(m.weights.map((w) => [w.green, w.blue, w.cause])).toEqual([
      [0, 100, "start"],
      [10, 90, "step 1 (10%)"],
      [50, 50, "step 2 (50%)"],
      [0, 100, "traffic restored to v1"],
      [0, 100, "end"],
    ]);
    expect(m.metrics).toHaveLength(1);
    const errorRate = m.metrics[0]!;
    expect(errorRate).toMatchObject({
      name: "error-rate",
      unit: "ratio",
      provider: "router",
      critical: true,
      limit: "max 1%",
    });
    expect(errorRate.points.map((p) => [p.stepIndex, p.weightPercent, p.green, p.blue, p.verdict])).toEqual([
      [1, 10, 0.001, 0.001, "pass"],
      [1, 10, 0.001, 0.001, "pass"],
      [1, 10, 0.001, 0.001, "pass"],
      [2, 50, 0.2, 0.001, "fail"],
    ]);
    expect(errorRate.points.every((p) => p.limitHigh === 0.01 && p.limitLow === null)).toBe(true);
    expect(errorRate.points[3]!.reason).toBe("error-rate 20% > max 1%");

    const stop = m.decisions.find((d) => d.kind === "analysis")!;
    expect(m.decisions.map((d) => [d.kind, d.by])).toEqual([
      ["start", "alice"],
      ["analysis", "analysis"],
    ]);
    // The re-judged failing interval is the one the workflow stopped on (same workflow time).
    expect(errorRate.points[3]!.atMs).toBe(stop.atMs);

    expect(m.compensations.map((c) => [c.name, c.status, c.attempts])).toEqual([
      ["restoreTraffic", "done", 1],
      ["rollbackSchema", "done", 1],
      ["destroyGreen", "done", 1],
    ]);
    const restore = m.compensations[0]!;
    expect(m.recovery).toEqual({
      stoppedAtMs: stop.atMs,
      recoveredAtMs: restore.endedAtMs,
      ms: restore.endedAtMs! - stop.atMs,
      what: "traffic back on v1",
    });
    expect(m.recovery!.ms).toBeGreaterThan(0);
  });

  it("a promoted release: 100% green at the end, the watch at 100%, every verdict a pass, nothing to recover", async () => {
    const m = extractReport(await recordedHistory("happy-path"));
    expect(m.outcome).toBe("promoted");
    expect(m.recovery).toBeNull();
    expect(m.compensations).toEqual([]);
    expect(m.weights.at(-1)).toMatchObject({ green: 100, blue: 0 });
    expect(m.weights.some((w) => w.cause.startsWith("routes finalized"))).toBe(true);
    const points = m.metrics.flatMap((s) => s.points);
    expect(points.length).toBeGreaterThan(0);
    expect(points.every((p) => p.verdict === "pass")).toBe(true);
    expect(points.at(-1)!.weightPercent).toBe(100);
    expect(m.phases.map((p) => p.phase)).toContain("post-promotion-watch");
  });

  it("a rollback before any traffic: retried compensation, recovery is the rollback itself", async () => {
    const m = extractReport(await recordedHistory("compensation-retried"));
    expect(m.weights.every((w) => w.green === 0)).toBe(true);
    const destroy = m.compensations.find((c) => c.name === "destroyGreen")!;
    expect(destroy).toMatchObject({
      status: "done",
      attempts: 3,
      lastError: "injected failure in destroy:v2",
    });
    expect(m.recovery?.what).toBe("rolled back");
    expect(m.recovery!.stoppedAtMs).toBe(m.decisions.find((d) => d.kind === "failure")!.atMs);
    expect(m.recovery!.recoveredAtMs).toBe(m.phases.find((p) => p.phase === "rolling-back")!.endedAtMs);
  });

  it("a skipped compensation and the operator who skipped it", async () => {
    const m = extractReport(await recordedHistory("needs-attention-skip"));
    expect(m.compensations.find((c) => c.name === "destroyGreen")?.status).toBe("skipped");
    expect(m.decisions.find((d) => d.kind === "skip-compensation")?.by).toBe("ops");
    expect(m.phases.map((p) => p.phase)).toContain("needs-attention");
  });

  it("while running (no result yet) decisions come from the accepted updates, as the result records them", async () => {
    const full = await recordedHistory("pause-resume-promote");
    const finished = extractReport(full);
    expect(finished.decisions.map((d) => [d.kind, d.by, d.reason])).toEqual([
      ["start", "alice", "release 2"],
      ["pause", "carol", "look"],
      ["resume", "carol", "fine"],
      ["promote", "bob", "hotfix"],
    ]);
    const cut = full.events.findIndex(
      (e) => e.type === "search-attributes" && e.fields.ShipshapePhase === "finalizing",
    );
    const running = extractReport({ ...full, events: full.events.slice(0, cut) });
    expect(running.outcome).toBe("running");
    expect(running.endedAtMs).toBeNull();
    expect(running.decisions).toEqual(finished.decisions);
  });

  it("a status from the query wins for decisions (signed ones keep their key)", async () => {
    const h = await recordedHistory("analysis-failure");
    const signed = { fingerprint: "SHA256:abc", statement: "s", signature: "sig" };
    const m = extractReport(h, {
      status: {
        decisions: [{ atMs: 1, kind: "start", by: "alice", reason: "r", signed }],
        compensations: [],
      },
    });
    expect(m.decisions).toEqual([
      { atMs: 1, kind: "start", by: "alice", reason: "r", signedBy: "SHA256:abc" },
    ]);
  });

  it("every recorded history gives a valid model", async () => {
    const names = recordedHistoryNames();
    expect(names.length).toBeGreaterThanOrEqual(8);
    for (const name of names) {
      const m = extractReport(await recordedHistory(name));
      expect(ReportModelSchema.safeParse(m).success, name).toBe(true);
      expect(m.phases.length, name).toBeGreaterThan(0);
    }
  });

  it("refuses a run that is not a deployment", () => {
    const other = {
      workflowId: "w",
      runId: "r",
      events: [{ id: 1, atMs: 0, type: "started" as const, input: {} }],
    };
    expect(() => extractReport(other)).toThrow(NotADeploymentError);
  });
});
