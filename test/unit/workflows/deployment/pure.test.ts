import { describe, expect, it } from "vitest";
import { analysisLimitsFromConfig, metricSpecsFromConfig } from "../../../../lib/analysis/from-config";
import { judgeAll } from "../../../../lib/analysis/judges";
import { MetricSpecSchema } from "../../../../lib/analysis/types";
import { ReleaseConfigSchema } from "../../../../lib/config/schema";
import { renderDetails } from "../../../../workflows/deployment/details";
import {
  validateAbort,
  validateCompensationControl,
  validateGateDecision,
  validatePromote,
} from "../../../../workflows/deployment/messages";
import { buildPlan } from "../../../../workflows/deployment/plan";
import { Saga } from "../../../../workflows/deployment/saga";
import {
  type DeploymentStatus,
  enterPhase,
  MAX_DECISION_LOG,
  recordDecision,
} from "../../../../workflows/deployment/state";

const config = ReleaseConfigSchema.parse({
  service: "shop",
  run: { command: "node s.js" },
  environments: { production: { target: "local", approvals: { approvers: ["alice", "bob"] } } },
  release: {
    steps: [
      { weight: 1, bake: "2m" },
      { weight: 10, bake: "5m", analysis: { failureLimit: 3, minRequests: 10 } },
      { approval: "full" },
      { weight: 100 },
    ],
    analysis: {
      interval: "10s",
      minRequests: 50,
      failureLimit: 1,
      metrics: [
        { name: "error-rate", provider: "router", query: "error_rate", max: "1%", critical: true },
        { name: "p95", provider: "router", query: "latency_p95_ms", maxIncrease: "20%" },
        { name: "conv", provider: "prometheus", query: "q", minRatioToBaseline: 0.95 },
        { name: "lat", provider: "prometheus", query: "q2", mannWhitney: { worse: "lower" } },
      ],
    },
  },
});

function status(over: Partial<DeploymentStatus> = {}): DeploymentStatus {
  return {
    deploymentId: "d",
    service: "shop",
    environment: "production",
    version: "v2",
    artifact: "a",
    requestedBy: "alice",
    reason: "",
    configDigest: "",
    endpoint: null,
    serving: null,
    artifactDigest: null,
    activeMigration: null,
    phase: "shifting-traffic",
    outcome: null,
    outcomeReason: null,
    step: { index: 2, total: 4, weight: 10 },
    weights: { blue: 90, green: 10 },
    blueVersion: "v1",
    phases: [],
    analysis: { status: "running", verdicts: [], decisions: [] },
    pendingApprovals: [],
    paused: null,
    promotedBy: null,
    compensations: [],
    needsAttention: null,
    decisions: [],
    ...over,
  };
}

describe("plan", () => {
  it("numbers traffic steps 1..n and keeps gates in place", () => {
    const p = buildPlan(config);
    expect(
      p.items.map((i) =>
        i.kind === "traffic"
          ? `${i.index}/${i.total}@${i.weight}:${i.bakeMs}`
          : `gate:${i.gate}@${i.afterStep}`,
      ),
    ).toEqual(["1/3@1:120000", "2/3@10:300000", "gate:full@2", "3/3@100:0"]);
    expect(p).toMatchObject({
      trafficSteps: 3,
      gates: ["full"],
      hasDatabase: false,
      hasAnalysis: true,
      watchMs: 600000,
      keepPreviousMs: 1800000,
    });
  });
});

describe("config → analysis adapter", () => {
  it("maps every judge kind into a valid MetricSpec with minRequests, and applies step overrides", () => {
    const section = config.release.analysis!;
    const specs = metricSpecsFromConfig(section);
    for (const s of specs) expect(MetricSpecSchema.safeParse(s).success).toBe(true);
    expect(specs.map((s) => s.judge)).toEqual([
      { kind: "threshold", max: 0.01 },
      { kind: "maxIncrease", fraction: 0.2 },
      { kind: "minRatioToBaseline", ratio: 0.95 },
      { kind: "mannWhitney", tolerance: 0.1, confidence: 0.95, direction: "decrease-is-bad", minSamples: 5 },
    ]);
    expect(specs.every((s) => s.minRequests === 50)).toBe(true);
    const step2 = config.release.steps[1]!;
    const override = step2.kind === "traffic" ? step2.analysis : undefined;
    expect(metricSpecsFromConfig(section, override)[0]!.minRequests).toBe(10);
    expect(analysisLimitsFromConfig(section, override)).toMatchObject({ failureLimit: 3 });
    const [r] = judgeAll(specs.slice(0, 1), [
      { metric: "error-rate", canary: 0.05, baseline: 0.001, requests: { canary: 100, baseline: 100 } },
    ]);
    expect(r!.verdict).toBe("fail");
  });
});

describe("validators", () => {
  const gate = {
    gate: "full",
    sinceMs: 0,
    timeoutAtMs: 1,
    approvers: ["alice", "bob"],
    allowSelfApproval: false,
  };
  it.each([
    [
      {},
      { gate: "full", by: "bob", reason: "" },
      "approve",
      /nothing is waiting for approval; the deployment is shifting-traffic, step 2\/4 \(10%\)/,
    ],
    [{ pendingApprovals: [gate] }, { gate: "full", by: "", reason: "" }, "approve", /`by` .* is required/],
    [
      { pendingApprovals: [gate] },
      { gate: "full", by: "eve", reason: "" },
      "approve",
      /eve is not an approver/,
    ],
    [
      { pendingApprovals: [gate] },
      { gate: "full", by: "alice", reason: "" },
      "approve",
      /does not allow self-approval/,
    ],
    [{ pendingApprovals: [gate] }, { gate: "full", by: "alice", reason: "" }, "reject", null],
    [
      { pendingApprovals: [{ ...gate, allowSelfApproval: true }] },
      { gate: "full", by: "alice", reason: "" },
      "approve",
      null,
    ],
  ] as const)("gate decision %#", (over, args, kind, expected) => {
    const r = validateGateDecision(status(over as Partial<DeploymentStatus>), args, kind);
    if (expected === null) expect(r).toBeNull();
    else expect(r).toMatch(expected);
  });

  it("abort and promote refuse invalid transitions with the reason", () => {
    expect(validateAbort(status({ phase: "finalizing" }), { by: "bob" }, false)).toMatch(
      /point of no return/,
    );
    expect(validateAbort(status({ outcome: "promoted", phase: "promoted" }), { by: "bob" }, false)).toMatch(
      /already ended: promoted/,
    );
    expect(validateAbort(status(), { by: "bob" }, true)).toMatch(/already rolling back/);
    expect(validateAbort(status(), { by: "bob" }, false)).toBeNull();
    expect(
      validatePromote(
        status({ analysis: { status: "failed", verdicts: [], decisions: [] } }),
        { by: "b" },
        false,
      ),
    ).toMatch(/never promoted/);
    expect(validatePromote(status({ phase: "post-promotion-watch" }), { by: "b" }, false)).toMatch(
      /already at 100%/,
    );
    expect(validatePromote(status({ promotedBy: "x" }), { by: "b" }, false)).toMatch(/already promoted by x/);
  });

  it("compensation controls need a failing compensation (and a reason to skip)", () => {
    const failing = {
      name: "destroyGreen",
      kind: "infra" as const,
      status: "retrying" as const,
      attempts: 3,
      lastError: "boom",
      startedAtMs: 0,
      endedAtMs: null,
    };
    expect(validateCompensationControl(status(), { by: "ops" }, "retry")).toMatch(
      /no compensation is running/,
    );
    expect(validateCompensationControl(status({ compensations: [failing] }), { by: "ops" }, "skip")).toMatch(
      /needs a reason/,
    );
    expect(
      validateCompensationControl(status({ compensations: [failing] }), { by: "ops", name: "x" }, "retry"),
    ).toMatch(/not the one in progress/);
    expect(
      validateCompensationControl(
        status({ compensations: [{ ...failing, status: "running" }] }),
        { by: "ops" },
        "retry",
      ),
    ).toMatch(/running attempt 3/);
    expect(
      validateCompensationControl(
        status({ compensations: [failing] }),
        { by: "ops", reason: "by hand" },
        "skip",
      ),
    ).toBeNull();
  });
});

describe("saga order and status bounds", () => {
  it("runs traffic compensations first, then the rest in reverse registration order", () => {
    const saga = new Saga([]);
    const run = async () => undefined;
    saga.register({ name: "destroyGreen", kind: "infra", run });
    saga.register({ name: "restoreTraffic", kind: "traffic", run });
    saga.register({ name: "rollbackSchema", kind: "schema", run });
    saga.register({ name: "other", kind: "other", run });
    expect(saga.order().map((e) => e.name)).toEqual([
      "restoreTraffic",
      "other",
      "rollbackSchema",
      "destroyGreen",
    ]);
  });

  it("keeps the decision log bounded (first entry kept) and phase timings closed", () => {
    const s = status();
    for (let i = 0; i < 250; i++)
      recordDecision(s, { atMs: i, kind: "pause", by: `u${i}`, reason: "x".repeat(2000) });
    expect(s.decisions).toHaveLength(MAX_DECISION_LOG);
    expect(s.decisions[0]!.by).toBe("u0");
    expect(s.decisions.at(-1)!.by).toBe("u249");
    expect(s.decisions[1]!.reason.length).toBeLessThanOrEqual(500);
    enterPhase(s, "preflight", 10);
    enterPhase(s, "provisioning-green", 25);
    expect(s.phases[0]).toEqual({ phase: "preflight", startedAtMs: 10, endedAtMs: 25, durationMs: 15 });
    expect(renderDetails(s)).toMatch(/### shop → production: v2 — \*\*provisioning-green\*\*/);
  });
});
