import type { WorkflowExecutionInfo } from "@temporalio/client";
import { describe, expect, it } from "vitest";
import { toRow, visibilityQuery } from "../../../client/deployments-query";
import { CHAIN_MEMO } from "../../../lib/deployment/continuation";

function info(o: {
  startMs: number;
  closeMs?: number;
  memo?: Record<string, unknown>;
}): WorkflowExecutionInfo {
  return {
    workflowId: "shipshape:shop:production",
    runId: "run-3",
    startTime: new Date(o.startMs),
    closeTime: o.closeMs === undefined ? undefined : new Date(o.closeMs),
    status: { name: o.closeMs === undefined ? "RUNNING" : "COMPLETED" },
    searchAttributes: { ShipshapeService: ["shop"], ShipshapeOutcome: ["promoted"] },
    memo: { artifact: "shop-v2.tgz", ...o.memo },
  } as unknown as WorkflowExecutionInfo;
}

describe("a long bake's chain of runs listed as one deployment", () => {
  it("the visibility query leaves out runs that continued as new (the latest run stands for the deployment)", () => {
    expect(visibilityQuery({ service: "shop", closedOnly: true })).toBe(
      "WorkflowType = 'deploymentWorkflow' AND ExecutionStatus != 'ContinuedAsNew' AND ShipshapeService = 'shop' AND ExecutionStatus != 'Running'",
    );
  });

  it("a continued run starts when the deployment's first run did; its duration is the whole chain's", () => {
    const day = 86_400_000;
    const row = toRow(
      info({
        startMs: 5 * day,
        closeMs: 7 * day,
        memo: { [CHAIN_MEMO.startedAtMs]: day, [CHAIN_MEMO.runs]: 40 },
      }),
    );
    expect(row).toMatchObject({
      startTime: new Date(day).toISOString(),
      durationMs: 6 * day,
      runs: 40,
      outcome: "promoted",
      artifact: "shop-v2.tgz",
    });
  });

  it("a deployment of one run is what it always was", () => {
    const row = toRow(info({ startMs: 1_000, closeMs: 61_000 }));
    expect(row).toMatchObject({ startTime: new Date(1_000).toISOString(), durationMs: 60_000, runs: 1 });
  });
});
