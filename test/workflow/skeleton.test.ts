import path from "node:path";
import { WorkflowFailedError } from "@temporalio/client";
import type { TestWorkflowEnvironment } from "@temporalio/testing";
import { Worker } from "@temporalio/worker";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createActivities } from "../../activities";
import type { DeploymentRecordStore } from "../../activities/database";
import { devDataConverter } from "../../lib/codec/data-converter";
import type { EnvironmentInfraDriver } from "../../lib/drivers/skeleton-infra-driver";
import { skeletonDeploymentWorkflow } from "../../workflows";
import { createTimeSkippingEnv } from "../support/time-skipping";

/** Fake drivers that log every call, so compensation order can be asserted exactly. */
function fakeDrivers(options: { failProvision?: boolean; failRecordTimes?: number } = {}) {
  const calls: string[] = [];
  let recordFailures = options.failRecordTimes ?? 0;
  const infra: EnvironmentInfraDriver = {
    async provision(ref) {
      calls.push(`provision:${ref.version}`);
      if (options.failProvision) throw new Error("pulumi up failed: boom");
      return { stackName: "s", outputs: {}, clearedLocks: 0, clearedPendingOperations: 0 };
    },
    async destroy(ref) {
      calls.push(`destroy:${ref.version}`);
      return { existed: true };
    },
  };
  const records: DeploymentRecordStore = {
    async record(ref) {
      calls.push(`record:${ref.version}`);
      if (recordFailures-- > 0) throw new Error("connection refused");
      return { inserted: true };
    },
    async remove(ref) {
      calls.push(`remove:${ref.version}`);
      return { deleted: true };
    },
  };
  return { calls, activities: createActivities({ infra, records }) };
}

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await createTimeSkippingEnv(devDataConverter());
});
afterAll(async () => {
  await env?.teardown();
});

async function runSkeleton(
  drivers: ReturnType<typeof fakeDrivers>,
  input: Partial<Parameters<typeof skeletonDeploymentWorkflow>[0]> = {},
) {
  const taskQueue = `tq-${Math.random().toString(36).slice(2)}`;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowsPath: path.join(__dirname, "..", "..", "workflows", "index.ts"),
    activities: drivers.activities,
    dataConverter: devDataConverter(),
  });
  return worker.runUntil(
    env.client.workflow.execute(skeletonDeploymentWorkflow, {
      workflowId: `wf-${taskQueue}`,
      taskQueue,
      args: [
        {
          deploymentId: "d1",
          service: "shop",
          environment: "prod",
          version: "v2",
          requestedBy: "ana",
          ...input,
        },
      ],
    }),
  );
}

describe("skeleton workflow (time-skipping server, fake drivers)", () => {
  it("happy path: provision, record, promoted, no compensation", async () => {
    const drivers = fakeDrivers();
    const result = await runSkeleton(drivers);
    expect(result).toEqual({ outcome: "promoted", compensations: [] });
    expect(drivers.calls).toEqual(["provision:v2", "record:v2"]);
  });

  it("failure after the database step: compensations in reverse order", async () => {
    const drivers = fakeDrivers();
    const result = await runSkeleton(drivers, { failAfterDatabase: true });
    expect(result.outcome).toBe("rolled-back");
    expect(result.compensations).toEqual(["deleteDeploymentRecord", "destroyGreenEnvironment"]);
    expect(drivers.calls).toEqual(["provision:v2", "record:v2", "remove:v2", "destroy:v2"]);
  });

  it("provision that keeps failing: retried, then the (idempotent) teardown still runs", async () => {
    const drivers = fakeDrivers({ failProvision: true });
    const result = await runSkeleton(drivers);
    expect(result.outcome).toBe("rolled-back");
    expect(drivers.calls.filter((c) => c === "provision:v2")).toHaveLength(5); // maximumAttempts
    expect(drivers.calls.at(-1)).toBe("destroy:v2");
  });

  it("a transient database failure is retried and does not roll back", async () => {
    const drivers = fakeDrivers({ failRecordTimes: 2 });
    const result = await runSkeleton(drivers);
    expect(result.outcome).toBe("promoted");
    expect(drivers.calls).toEqual(["provision:v2", "record:v2", "record:v2", "record:v2"]);
  });

  it("rejects invalid input before any side effect", async () => {
    const drivers = fakeDrivers();
    await expect(runSkeleton(drivers, { service: "Bad Name" })).rejects.toBeInstanceOf(WorkflowFailedError);
    expect(drivers.calls).toEqual([]);
  });
});
