import fs from "node:fs";
import path from "node:path";
import { Client, Connection } from "@temporalio/client";
import { Pool } from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { listLocks } from "../../../infra/pulumi/stack-locks";
import { pulumiPaths } from "../../../infra/pulumi/workspace";
import { skeletonMarkerFile, skeletonStartedFile } from "../../../infra/skeleton/driver";
import { SKELETON_PROJECT } from "../../../infra/skeleton/program";
import { devDataConverter } from "../../../lib/codec/data-converter";
import { stackNameFor } from "../../../lib/deployment/skeleton-types";
import type { DetachedProcess } from "../../../lib/runtime/process-group";
import { writeWorkflowBundle } from "../../../workers/workflow-bundle";
import { skeletonDeploymentWorkflow } from "../../../workflows";
import { activityAttempts as sharedActivityAttempts, stackCheckpoint } from "../../support/inspect";
import { freshDatabase } from "../../support/postgres";
import { killWorker, startWorkerProcess, stopGroup } from "../../support/worker-process";

/**
 * The walking skeleton on the real engines: Temporal dev server, Pulumi CLI
 * (file backend) and PostgreSQL — including a worker SIGKILLed while `pulumi
 * up` is in the middle of creating the green environment.
 */
const stateDir = path.join(inject("testStateDir"), "skeleton");
let db: Awaited<ReturnType<typeof freshDatabase>>;
let pool: Pool;
let client: Client;
let connection: Connection;
let bundle: string;
const workers: DetachedProcess[] = [];

const checkpoint = (stackName: string) => stackCheckpoint(SKELETON_PROJECT, stackName);
const activityAttempts = (workflowId: string, activity: string) =>
  sharedActivityAttempts(client, workflowId, activity);

beforeAll(async () => {
  process.env.SHIPSHAPE_STATE_DIR = stateDir;
  fs.mkdirSync(stateDir, { recursive: true });
  db = await freshDatabase("skeleton");
  pool = new Pool({ connectionString: db.url });
  connection = await Connection.connect({ address: inject("temporalAddress") });
  client = new Client({ connection, dataConverter: devDataConverter() });
  bundle = await writeWorkflowBundle(path.join(stateDir, "workflow-bundle.js"));
});

afterAll(async () => {
  for (const w of workers) await stopGroup(w, 5000);
  await pool?.end();
  await connection?.close();
  await db?.drop();
});

function workerOptions(taskQueue: string) {
  return {
    temporalAddress: inject("temporalAddress"),
    taskQueue,
    databaseUrl: db.url,
    stateDir,
    workflowBundle: bundle,
    logFile: path.join(stateDir, `${taskQueue}.worker.log`),
  };
}

describe("walking skeleton on real Temporal, Pulumi and PostgreSQL", () => {
  it("survives a worker SIGKILL in the middle of `pulumi up`; completion happens exactly once", async () => {
    const taskQueue = `skeleton-crash-${Date.now()}`;
    const ref = { deploymentId: `${taskQueue}-d1`, service: "shop", environment: "crash", version: "v2" };
    const stackName = stackNameFor(ref);
    fs.rmSync(skeletonStartedFile(stackName), { force: true });

    const first = await startWorkerProcess(workerOptions(taskQueue));
    workers.push(first);
    const handle = await client.workflow.start(skeletonDeploymentWorkflow, {
      workflowId: `${taskQueue}-wf`,
      taskQueue,
      args: [{ ...ref, requestedBy: "test", holdProvisionMs: 6000 }],
    });

    // Wait until the Pulumi dynamic provider is inside `create` — the update is
    // genuinely in flight — then kill the worker's whole process group.
    const deadline = Date.now() + 90_000;
    while (!fs.existsSync(skeletonStartedFile(stackName))) {
      if (Date.now() > deadline) throw new Error("pulumi create never started");
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(listLocks(pulumiPaths(SKELETON_PROJECT).backendDir, SKELETON_PROJECT, stackName).length).toBe(1);
    await killWorker(first);
    // The killed update left its lock and a pending create behind.
    expect(listLocks(pulumiPaths(SKELETON_PROJECT).backendDir, SKELETON_PROJECT, stackName).length).toBe(1);
    expect(fs.existsSync(skeletonMarkerFile(stackName))).toBe(false);

    const second = await startWorkerProcess(workerOptions(taskQueue));
    workers.push(second);
    const result = await handle.result();

    expect(result.outcome).toBe("promoted");
    const provision = await activityAttempts(handle.workflowId, "provisionGreenEnvironment");
    expect(Math.max(...provision.started)).toBeGreaterThanOrEqual(2); // it really was retried after the crash
    expect(provision.completed).toBe(1);
    const record = await activityAttempts(handle.workflowId, "recordDeployment");
    expect(record.completed).toBe(1);

    // Exactly once: one database row, one marker resource, nothing pending, no lock.
    const rows = await pool.query(
      "SELECT count(*)::int AS n FROM shipshape_skeleton_deployments WHERE deployment_id = $1",
      [ref.deploymentId],
    );
    expect(rows.rows[0].n).toBe(1);
    const state = checkpoint(stackName);
    expect(state?.resources.filter((r) => r.type === "pulumi-nodejs:dynamic:Resource")).toHaveLength(1);
    expect(state?.pending).toEqual([]);
    expect(listLocks(pulumiPaths(SKELETON_PROJECT).backendDir, SKELETON_PROJECT, stackName)).toEqual([]);
    expect(JSON.parse(fs.readFileSync(skeletonMarkerFile(stackName), "utf8")).deploymentId).toBe(
      ref.deploymentId,
    );
    await stopGroup(second, 10_000);
  });

  it("a failure after the database step compensates in reverse order, exactly once, leaving nothing", async () => {
    const taskQueue = `skeleton-fail-${Date.now()}`;
    const ref = { deploymentId: `${taskQueue}-d1`, service: "shop", environment: "fail", version: "v3" };
    const stackName = stackNameFor(ref);
    const worker = await startWorkerProcess(workerOptions(taskQueue));
    workers.push(worker);
    const result = await client.workflow.execute(skeletonDeploymentWorkflow, {
      workflowId: `${taskQueue}-wf`,
      taskQueue,
      args: [{ ...ref, requestedBy: "test", failAfterDatabase: true }],
    });
    expect(result.outcome).toBe("rolled-back");
    expect(result.reason).toMatch(/injected failure/);
    expect(result.compensations).toEqual(["deleteDeploymentRecord", "destroyGreenEnvironment"]);
    const rows = await pool.query(
      "SELECT count(*)::int AS n FROM shipshape_skeleton_deployments WHERE deployment_id = $1",
      [ref.deploymentId],
    );
    expect(rows.rows[0].n).toBe(0);
    expect(checkpoint(stackName)).toBeUndefined(); // stack removed
    expect(fs.existsSync(skeletonMarkerFile(stackName))).toBe(false);
    const destroy = await activityAttempts(`${taskQueue}-wf`, "destroyGreenEnvironment");
    expect(destroy.completed).toBe(1);
    await stopGroup(worker, 10_000);
  });
});
