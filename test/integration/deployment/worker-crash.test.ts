import fs from "node:fs";
import path from "node:path";
import { Client, Connection } from "@temporalio/client";
import { Worker } from "@temporalio/worker";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { deploymentResult } from "../../../client/deployment-result";
import { startDeployment } from "../../../client/start";
import { localStackName } from "../../../infra/local/program";
import {
  ensureRouterProcess,
  type RouterProcessInfo,
  stopRouterProcess,
} from "../../../infra/local/router-process";
import { createLocalTrafficRouter } from "../../../infra/local/traffic-router";
import { devDataConverter } from "../../../lib/codec/data-converter";
import { type ReleaseConfig, ReleaseConfigSchema } from "../../../lib/config/schema";
import type { VersionEnvironmentRef } from "../../../lib/drivers/common";
import type { DetachedProcess } from "../../../lib/runtime/process-group";
import { generateLoad } from "../../../scripts/load/generate-load";
import { writeWorkflowBundle } from "../../../workers/workflow-bundle";
import { statusQuery } from "../../../workflows/deployment/messages";
import { activityAttempts as sharedActivityAttempts } from "../../support/inspect";
import { freshDatabase } from "../../support/postgres";
import { killWorker, startWorkerProcess, stopGroup } from "../../support/worker-process";
import { localDriver, processesOfStack, SHOP_ARTIFACT, shopRun } from "../local/helpers";

/**
 * Invariant 3 for DeploymentWorkflow: the worker process (`shipshape worker`, real
 * local-target drivers) is SIGKILLed while `pulumi up` provisions green; a new
 * worker picks the deployment up (heartbeat timeout → provision retried, the
 * orphaned instances adopted) and it still ends promoted, with v1 decommissioned.
 */
const stateDir = path.join(inject("testStateDir"), "deployment-crash");
const { driver: localInfraDriver } = localDriver(stateDir);
const scope = { service: "shop", environment: "crash" };
const ref = (version: string): VersionEnvironmentRef => ({ deploymentId: "setup", ...scope, version });
let db: Awaited<ReturnType<typeof freshDatabase>>;
let router: RouterProcessInfo;
let connection: Connection;
let client: Client;
let bundle: string;
const workers: DetachedProcess[] = [];

beforeAll(async () => {
  fs.mkdirSync(stateDir, { recursive: true });
  db = await freshDatabase("depcrash");
  router = await ensureRouterProcess("shop-crash", { stateDir });
  connection = await Connection.connect({ address: inject("temporalAddress") });
  client = new Client({ connection, dataConverter: devDataConverter() });
  bundle = await writeWorkflowBundle(path.join(stateDir, "workflow-bundle.js"));
});

afterAll(async () => {
  for (const w of workers) await stopGroup(w, 5000);
  for (const v of ["v1", "v2", "v3", "v4"])
    await localInfraDriver.destroyEnvironment(ref(v), () => {}).catch(() => {});
  if (router) await stopRouterProcess("shop-crash", { purge: true, stateDir });
  await connection?.close();
  await db?.drop();
});

function workerOptions(taskQueue: string, n: number) {
  return {
    temporalAddress: inject("temporalAddress"),
    taskQueue,
    stateDir,
    workflowBundle: bundle,
    logFile: path.join(stateDir, `${taskQueue}.worker-${n}.log`),
    identity: `crash-worker-${n}`,
  };
}

/** The identity of the worker running `activity` now (the workflow's pending activity), once it runs. */
async function runningOn(workflowId: string, activity: string, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const d = await client.workflow.getHandle(workflowId).describe();
    const p = d.raw.pendingActivities?.find((a) => a.activityType?.name === activity);
    if (p?.lastWorkerIdentity && Number(p.state) === 2 /* STARTED */) return p.lastWorkerIdentity;
    if (Date.now() > deadline) throw new Error(`${activity} never started`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * A release whose green starts slowly (4 s before node runs), so `pulumi up` is still
 * inside create when the test kills the worker: without it a fast start could finish
 * the activity before the kill lands (seen once under CI load).
 */
function slowGreenRelease(env: Record<string, string>, instances: number): ReleaseConfig {
  return ReleaseConfigSchema.parse({
    service: "shop",
    run: {
      command: `sleep 4; exec ${shopRun().command}`,
      instances,
      healthPath: "/health",
      startTimeout: "30s",
      env,
    },
    environments: { crash: { target: "local" } },
    release: {
      verify: [{ http: { path: "/health" } }],
      steps: [{ weight: 50, bake: "1s" }, { weight: 100 }],
      postPromotion: { watch: "1s", keepPrevious: "1s" },
    },
  });
}

function deployShop(version: string, config: ReleaseConfig, taskQueue: string) {
  return startDeployment(
    client,
    {
      ...scope,
      version,
      artifact: SHOP_ARTIFACT.location,
      requestedBy: "ci",
      config,
      configDigest: `crash-${version}`,
    },
    { taskQueue },
  );
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
      { artifact: SHOP_ARTIFACT, run: { ...base, instances: 1, env: appEnv }, env: {} },
      () => {},
    );
    const traffic = createLocalTrafficRouter({
      adminUrl: router.adminUrl,
      token: router.token,
      healthPath: "/health",
    });
    await traffic.setBackends(scope, { blue: { version: "v1", instances: v1.instances.map((i) => i.url) } });

    const config = slowGreenRelease(appEnv, 2);
    const taskQueue = `deploy-crash-${Date.now()}`;
    const first = await startWorkerProcess(workerOptions(taskQueue, 1));
    workers.push(first);
    const handle = await deployShop("v2", config, taskQueue);

    // green's instances are being started by `pulumi up` under the first worker: kill it all.
    const deadline = Date.now() + 90_000;
    while (
      processesOfStack(localStackName({ service: "shop", environment: "crash", version: "v2" }, stateDir))
        .length === 0
    ) {
      if (Date.now() > deadline) throw new Error("green provisioning never started");
      await new Promise((r) => setTimeout(r, 100));
    }
    await killWorker(first);

    const second = await startWorkerProcess(workerOptions(taskQueue, 2));
    workers.push(second);
    const result = await deploymentResult(handle);
    const status = await handle.query(statusQuery);
    expect(result.outcome, result.reason ?? "").toBe("promoted");
    const provision = await activityAttempts(handle.workflowId, "provisionGreen");
    // history records the started event of the final attempt only: attempt ≥ 2 = the killed attempt was retried
    expect(Math.max(...provision.started)).toBeGreaterThanOrEqual(2);
    expect(provision.completed).toBe(1);
    expect(status.phases.map((p) => p.phase)).toContain("finalizing");
    const routes = await traffic.getRoutes(scope);
    expect(routes.backends.blue?.version).toBe("v2");
    expect(
      processesOfStack(localStackName({ service: "shop", environment: "crash", version: "v1" }, stateDir)),
    ).toEqual([]);
  });

  it("two workers on one task queue: the one running provision is SIGKILLed, the other finishes the deployment", {
    timeout: 300_000,
  }, async () => {
    const config = slowGreenRelease({ ...shopRun().env, DATABASE_URL: db.url, SHOP_AUTO_SCHEMA: "1" }, 1);
    const taskQueue = `deploy-two-${Date.now()}`;
    const pool = [
      await startWorkerProcess(workerOptions(taskQueue, 5)),
      await startWorkerProcess(workerOptions(taskQueue, 6)),
    ];
    workers.push(...pool);
    const handle = await deployShop("v4", config, taskQueue);
    const victim = await runningOn(handle.workflowId, "provisionGreen", 120_000);
    const killed = pool[victim === "crash-worker-5" ? 0 : 1];
    const survivor = victim === "crash-worker-5" ? "crash-worker-6" : "crash-worker-5";
    if (!killed) throw new Error(`unknown worker ${victim}`);
    await killWorker(killed);

    const result = await deploymentResult(handle);
    expect(result.outcome, result.reason ?? "").toBe("promoted");
    // The killed attempt was retried — on the other worker — and provisioning completed once.
    const provision = await activityAttempts(handle.workflowId, "provisionGreen");
    expect(Math.max(...provision.started)).toBeGreaterThanOrEqual(2);
    expect(provision.completed).toBe(1);
    const history = await handle.fetchHistory();
    const startedBy = (history.events ?? [])
      .map((e) => e.activityTaskStartedEventAttributes?.identity)
      .filter((id): id is string => Boolean(id));
    expect(startedBy.at(-1)).toBe(survivor);
    const routes = await createLocalTrafficRouter({
      adminUrl: router.adminUrl,
      token: router.token,
      healthPath: "/health",
    }).getRoutes(scope);
    expect(routes.backends.blue?.version).toBe("v4");
    expect(
      processesOfStack(localStackName({ service: "shop", environment: "crash", version: "v4" }, stateDir)),
    ).toHaveLength(1);
  });

  it("killed while a bake timer is pending: the timer fires with no worker, the new worker finishes, and the history replays", {
    timeout: 240_000,
  }, async () => {
    // The chaos suite once caught a deployment whose history no longer replayed after
    // this sequence (the new worker and a later replay disagreed on how much of a bake
    // had elapsed, measured with Date.now()); bakes are now counted by their timers.
    // This pins the sequence down: worker dead while a bake timer fires, the workflow
    // task times out, a new worker finishes, queries and a full replay still work.
    const base = shopRun();
    const appEnv = { ...base.env, DATABASE_URL: db.url, SHOP_AUTO_SCHEMA: "1" };
    const traffic = createLocalTrafficRouter({
      adminUrl: router.adminUrl,
      token: router.token,
      healthPath: "/health",
    });
    const blue = (await traffic.getRoutes(scope)).backends.blue?.version ?? "none";
    if (blue !== "v2") {
      const v2 = await localInfraDriver.provisionEnvironment(
        ref("v2"),
        { artifact: SHOP_ARTIFACT, run: { ...base, instances: 1, env: appEnv }, env: {} },
        () => {},
      );
      await traffic.setBackends(scope, {
        blue: { version: "v2", instances: v2.instances.map((i) => i.url) },
      });
    }
    const config = ReleaseConfigSchema.parse({
      service: "shop",
      run: { command: base.command, instances: 1, healthPath: "/health", startTimeout: "20s", env: appEnv },
      environments: { crash: { target: "local" } },
      release: {
        verify: [{ http: { path: "/health" } }],
        steps: [{ weight: 50, bake: "5s" }, { weight: 100 }],
        analysis: {
          interval: "3s",
          minRequests: 0,
          metrics: [{ name: "error-rate", provider: "router", query: "error_rate", max: "50%" }],
        },
        postPromotion: { watch: "1s", keepPrevious: "1s" },
      },
    });
    // Analysis needs traffic to judge (no data pauses the rollout): light load through the router.
    const stopLoad = new AbortController();
    const load = generateLoad({
      url: router.url,
      durationMs: 200_000,
      maxRequests: 1_000_000,
      concurrency: 2,
      rps: 20,
      signal: stopLoad.signal,
    });
    const taskQueue = `deploy-crash-bake-${Date.now()}`;
    const first = await startWorkerProcess(workerOptions(taskQueue, 3));
    workers.push(first);
    const handle = await deployShop("v3", config, taskQueue);
    // Kill the worker once the 50% bake is under way (its first timer is pending) …
    const deadline = Date.now() + 120_000;
    for (;;) {
      const s = await handle.query(statusQuery);
      if (s.weights.green === 50) break;
      if (Date.now() > deadline || s.outcome) throw new Error(`never reached the bake (phase ${s.phase})`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await killWorker(first);
    // … and keep it dead until that timer has fired: the next workflow task times out.
    await new Promise((r) => setTimeout(r, 6000));
    const second = await startWorkerProcess(workerOptions(taskQueue, 4));
    workers.push(second);
    const result = await deploymentResult(handle).finally(() => stopLoad.abort());
    await load;
    expect(result.outcome, result.reason ?? "").toBe("promoted");
    const history = await handle.fetchHistory();
    expect(history.events?.some((e) => e.workflowTaskTimedOutEventAttributes)).toBe(true);
    // The finished deployment still answers queries (a replay of the whole history) …
    const status = await handle.query(statusQuery);
    expect(status.outcome).toBe("promoted");
    // … and the history replays on the current code.
    await Worker.runReplayHistory(
      { workflowBundle: { codePath: bundle }, dataConverter: devDataConverter() },
      history,
      handle.workflowId,
    );
  });
});
