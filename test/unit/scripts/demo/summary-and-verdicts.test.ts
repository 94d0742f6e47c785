import { describe, expect, it } from "vitest";
import { summaryTable } from "../../../../scripts/demo/summary";
import { shortLimit, verdictTable } from "../../../../scripts/demo/verdict-table";

describe("the demo's summary", () => {
  it("is a clean table: no index column, no quoted strings, a time to recovery for each rollback", () => {
    const lines = summaryTable([
      {
        deployment: "v1 → v2 healthy",
        expected: "promoted",
        outcome: "promoted",
        durationMs: 109_100,
        recovery: "—",
        ok: true,
      },
      {
        deployment: "v2 → v3 (payments declined)",
        expected: "rolled-back",
        outcome: "rolled-back",
        durationMs: 40_600,
        recovery: "0.2 s (traffic back on v2)",
        ok: true,
      },
    ]);
    const text = lines.join("\n");
    expect(text).not.toMatch(/\(index\)|'|"/);
    expect(lines[0]).toMatch(/^ {2}deployment +expected +outcome +duration +time to recovery +as narrated$/);
    expect(lines[3]).toContain("40.6 s  0.2 s (traffic back on v2)");
  });
});

describe("the table behind a verdict", () => {
  it("shows metric, blue, green, limit and verdict in each metric's unit", () => {
    const lines = verdictTable(
      {
        stepIndex: 1,
        weightPercent: 1,
        atMs: 0,
        results: [
          {
            metric: "error-rate",
            critical: true,
            verdict: "fail",
            value: 0.294,
            baseline: 0,
            threshold: "max 1%",
            reason: "error-rate 29.4% > max 1%",
            noData: false,
          },
          {
            metric: "orders-per-min",
            critical: false,
            verdict: "inconclusive",
            value: null,
            baseline: 4034.6,
            threshold: "min 0.1 of baseline",
            reason: "orders-per-min: no data (empty result for canary)",
            noData: true,
          },
          {
            metric: "p50-latency",
            critical: false,
            verdict: "pass",
            value: 0.025,
            baseline: 0.025,
            threshold: "Mann-Whitney: increase beyond 200% at 99% confidence",
            reason: "identical",
            noData: false,
          },
        ],
      },
      new Map([
        ["error-rate", "ratio"],
        ["orders-per-min", "number"],
        ["p50-latency", "s"],
      ]),
      "",
    );
    expect(lines[0]).toMatch(/^metric +blue +green +limit +verdict$/);
    expect(lines[2]).toMatch(/^error-rate +0% +29\.4% +max 1% +✗ FAIL \(critical\)$/);
    expect(lines[3]).toMatch(/^orders-per-min +4035 +— +min 0\.1 of baseline +\? not enough data$/);
    expect(lines[4]).toMatch(/^p50-latency +25ms +25ms +MW: \+200% at most \(99%\) +✓ pass$/);
  });

  it("shortens only Mann-Whitney limits", () => {
    expect(shortLimit("Mann-Whitney: decrease beyond 10% at 95% confidence")).toBe("MW: -10% at most (95%)");
    expect(shortLimit("max +20% vs baseline")).toBe("max +20% vs baseline");
  });
});
