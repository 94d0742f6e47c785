import { describe, expect, it } from "vitest";
import { continuedFrom, joinRuns } from "../../../../lib/report/chain";
import { extractReport } from "../../../../lib/report/extract";
import { recordedHistory } from "../../../support/recorded-history";

/** The recorded chain of a long bake that fails late: run 1 continued as new into run 2, which rolled back. */
async function failsLate() {
  return [
    await recordedHistory("long-bake-continued-fails-late-run1"),
    await recordedHistory("long-bake-continued-fails-late-run2"),
  ] as const;
}

describe("a long bake's chain of runs read as one deployment", () => {
  it("each run's start says which run it continued from", async () => {
    const [first, second] = await failsLate();
    expect(continuedFrom(first)).toBeNull();
    expect(continuedFrom(second)).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("joined: one start, ids still increasing, every activity paired with its schedule, one close", async () => {
    const [first, second] = await failsLate();
    const joined = joinRuns([first, second]);
    expect(joined.runIds).toEqual([first.runId, second.runId]);
    expect(joined.runId).toBe(second.runId);
    expect(joined.events.filter((e) => e.type === "started")).toHaveLength(1);
    expect(joined.events.filter((e) => e.type === "closed" || e.type === "completed")).toHaveLength(1);
    const ids = joined.events.map((e) => e.id);
    expect(ids.every((id, i) => i === 0 || id > ids[i - 1]!)).toBe(true);
    const scheduled = new Set(joined.events.filter((e) => e.type === "activity-scheduled").map((e) => e.id));
    const ends = joined.events.filter((e) => e.type === "activity-completed" || e.type === "activity-failed");
    expect(ends.length).toBeGreaterThan(400);
    for (const e of ends) expect(scheduled.has((e as { scheduledId: number }).scheduledId)).toBe(true);
  });

  it("the report of the chain: every interval of both runs, the late failure, the rollback", async () => {
    const [first, second] = await failsLate();
    const m = extractReport(joinRuns([first, second]));
    expect(m).toMatchObject({ outcome: "rolled-back", runId: second.runId, deploymentId: "dep-1" });
    expect(m.outcomeReason).toMatch(/^analysis failed: error-rate 20% > max 1% at 50% traffic/);
    const points = m.metrics[0]!.points;
    // failingAfter(400) in scripts/record-histories.ts: 400 passes, then the failure.
    expect(points).toHaveLength(401);
    expect(points.filter((p) => p.verdict === "fail")).toHaveLength(1);
    expect(m.weights.map((w) => w.green)).toEqual([0, 50, 0, 0]);
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
    expect(m.compensations.map((c) => [c.name, c.status])).toEqual([
      ["restoreTraffic", "done"],
      ["rollbackSchema", "done"],
      ["destroyGreen", "done"],
    ]);
    expect(m.recovery?.what).toBe("traffic back on v1");
  });

  it("one run is itself", async () => {
    const run = await recordedHistory("happy-path");
    expect(joinRuns([run])).toBe(run);
  });
});
