import fs from "node:fs";
import path from "node:path";
import { Client, Connection } from "@temporalio/client";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { VersionEnvironmentRef } from "../../../activities/drivers";
import { localInfraDriver } from "../../../infra/local/driver";
import {
  ensureRouterProcess,
  type RouterProcessInfo,
  stopRouterProcess,
} from "../../../infra/local/router-process";
import { createLocalTrafficRouter } from "../../../infra/local/traffic-router";
import { ReleaseConfigSchema } from "../../../lib/config/schema";
import { startDeployment } from "../../../scripts/deployments/start";
import type { DetachedProcess } from "../../../scripts/services/process-group";
import { writeWorkflowBundle } from "../../../workers/workflow-bundle";
import { statusQuery } from "../../../workflows/deployment/messages";
import { activityAttempts as sharedActivityAttempts } from "../../support/inspect";
import { freshDatabase } from "../../support/postgres";
import { killWorker, startWorkerProcess, stopGroup } from "../../support/worker-process";
import { processesOfStack, shopRun } from "../local/helpers";

/**
 * Invariant 3 for DeploymentWorkflow: the worker process (workers/main.ts, real
 * local-target drivers) is SIGKILLed while `pulumi up` provisions green; a new
 * worker picks the deployment up (heartbeat timeout → provision retried, the
 * orphaned instances adopted) and it still ends promoted, with v1 decommissioned.
 */
const stateDir = path.join(inject("testStateDir"), "deployment-crash");
const scope = { service: "shop", environment: "crash" };
const ref = (version: string): VersionEnvironmentRef => ({ deploymentId: "setup", ...scope, version });
let db: Awaited<ReturnType<typeof freshDatabase>>;
let router: RouterProcessInfo;
let connection: Connection;
let client: Client;
let bundle: string;
const workers: DetachedProcess[] = [];

beforeAll(async () => {
  process.env.SHIPSHAPE_STATE_DIR = stateDir;
  fs.mkdirSync(stateDir, { recursive: true });
  db = await freshDatabase("depcrash");
  router = await ensureRouterProcess("shop-crash");
  connection = await Connection.connect({ address: inject("temporalAddress") });
  client = new Client({ connection });
  bundle = await writeWorkflowBundle(path.join(stateDir, "workflow-bundle.js"));
});

afterAll(async () => {
  for (const w of workers) await stopGroup(w, 5000);
  for (const v of ["v1", "v2"]) await localInfraDriver.destroyEnvironment(ref(v), () => {}).catch(() => {});
  if (router) await stopRouterProcess("shop-crash", { purge: true });
  await connection?.close();
  await db?.drop();
});

function workerOptions(taskQueue: string, n: number) {
  return {
    temporalAddress: inject("temporalAddress"),
    taskQueue,
    databaseUrl: db.url,
    stateDir,
    workflowBundle: bundle,
    logFile: path.join(stateDir, `${taskQueue}.worker-${n}.log`),
  };
}

function activityAttempts(workflowId: string, activity: string) {
  return sharedActivityAttempts(client, workflowId, activity);
}

describe("DeploymentWorkflow survives a worker SIGKILL", () => {
  it("killed during provision-green: a new worker finishes the deployment (promoted)", {
    timeout: 240_000,
  }, async () => {
    const base = shopRun();
    const appEnv = { ...base.env, DATABASE_URL: db.url, SHOP_AUTO_SCHEMA: "1" };
    const v1 = await localInfraDriver.provisionEnvironment(
      ref("v1"),
      { run: { ...base, instances: 1, env: appEnv }, env: {} },
      () => {},
    );
    const traffic = createLocalTrafficRouter({
      adminUrl: router.adminUrl,
      token: router.token,
      healthPath: "/health",
    });
    await traffic.setBackends(scope, { blue: { version: "v1", instances: v1.instances.map((i) => i.url) } });

    const config = ReleaseConfigSchema.parse({
      service: "shop",
      run: { command: base.command, instances: 2, healthPath: "/health", startTimeout: "20s", env: appEnv },
      environments: { crash: { target: "local" } },
      release: {
        verify: [{ http: { path: "/health" } }],
        steps: [{ weight: 50, bake: "1s" }, { weight: 100 }],
        postPromotion: { watch: "1s", keepPrevious: "1s" },
      },
    });
    const taskQueue = `deploy-crash-${Date.now()}`;
    const first = await startWorkerProcess(workerOptions(taskQueue, 1));
    workers.push(first);
    const handle = await startDeployment(
      client,
      {
        service: "shop",
        environment: "crash",
        version: "v2",
        artifact: "examples/shop/server.js",
        requestedBy: "ci",
        config,
        configDigest: "crash",
      },
      { taskQueue },
    );

    // green's instances are being started by `pulumi up` under the first worker: kill it all.
    const deadline = Date.now() + 90_000;
    while (processesOfStack("shop-crash-v2").length === 0) {
      if (Date.now() > deadline) throw new Error("green provisioning never started");
      await new Promise((r) => setTimeout(r, 100));
    }
    await killWorker(first);

    const second = await startWorkerProcess(workerOptions(taskQueue, 2));
    workers.push(second);
    const result = await handle.result();
    const status = await handle.query(statusQuery);
    expect(result.outcome, result.reason ?? "").toBe("promoted");
    const provision = await activityAttempts(handle.workflowId, "provisionGreen");
    // history records the started event of the final attempt only: attempt ≥ 2 = the killed attempt was retried
    expect(Math.max(...provision.started)).toBeGreaterThanOrEqual(2);
    expect(provision.completed).toBe(1);
    expect(status.phases.map((p) => p.phase)).toContain("finalizing");
    const routes = await traffic.getRoutes(scope);
    expect(routes.backends.blue?.version).toBe("v2");
    expect(processesOfStack("shop-crash-v1")).toEqual([]);
  });
});
