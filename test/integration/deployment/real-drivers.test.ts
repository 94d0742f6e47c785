import fs from "node:fs";
import path from "node:path";
import { Client, Connection } from "@temporalio/client";
import { NativeConnection, Worker } from "@temporalio/worker";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createActivities } from "../../../activities";
import { createMetricProviders } from "../../../activities/metrics/registry";
import { createLocalArtifactStore, createLogNotifier } from "../../../activities/notify-log";
import { createHttpVerifyDriver } from "../../../activities/verify-http";
import { startDeployment } from "../../../client/start";
import { localInfraDriver } from "../../../infra/local/driver";
import { RouterClient } from "../../../infra/local/router/client";
import {
  ensureRouterProcess,
  type RouterProcessInfo,
  stopRouterProcess,
} from "../../../infra/local/router-process";
import { createLocalTrafficRouter } from "../../../infra/local/traffic-router";
import { devDataConverter } from "../../../lib/codec/data-converter";
import { ReleaseConfigSchema } from "../../../lib/config/schema";
import type { VersionEnvironmentRef } from "../../../lib/drivers/common";
import { generateLoad } from "../../../scripts/load/generate-load";
import { WORKFLOWS_PATH } from "../../../workers/workflow-bundle";
import { statusQuery } from "../../../workflows/deployment/messages";
import { freshDatabase } from "../../support/postgres";
import { processesOfStack, shopRun } from "../local/helpers";

/**
 * DeploymentWorkflow on the real drivers (the twin of the fake-driver suites):
 * real Temporal dev server, Pulumi local target (shop processes), the local
 * router as data plane and metrics source, HTTP verification, under real
 * load. v1 is running as blue; the workflow ships v2 through 25% → 100% with
 * router-metric analysis, keeps v1 warm, then decommissions it.
 * (Schema migrations on the real engine: migration-driver.test.ts.)
 */
const stateDir = path.join(inject("testStateDir"), "deployment-e2e");
const scope = { service: "shop", environment: "e2e" };
const ref = (version: string): VersionEnvironmentRef => ({ deploymentId: "setup", ...scope, version });
let db: Awaited<ReturnType<typeof freshDatabase>>;
let router: RouterProcessInfo;

beforeAll(async () => {
  process.env.SHIPSHAPE_STATE_DIR = stateDir;
  fs.mkdirSync(stateDir, { recursive: true });
  db = await freshDatabase("e2e");
  router = await ensureRouterProcess("shop-e2e");
});

afterAll(async () => {
  for (const v of ["v1", "v2"]) await localInfraDriver.destroyEnvironment(ref(v), () => {}).catch(() => {});
  if (router) await stopRouterProcess("shop-e2e", { purge: true });
  await db?.drop();
});

describe("DeploymentWorkflow on real drivers", () => {
  it("ships v2 over a running v1 under load and decommissions v1", { timeout: 180_000 }, async () => {
    const base = shopRun();
    // release-config input form (durations as text); ${env:…} resolved on the worker
    const run = {
      command: base.command,
      instances: 1,
      healthPath: base.healthPath,
      startTimeout: "20s",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal ${env:NAME} syntax
      env: { ...base.env, DATABASE_URL: "${env:E2E_DATABASE_URL}", SHOP_AUTO_SCHEMA: "1" },
    };
    const env = { E2E_DATABASE_URL: db.url };
    // v1 is production (blue) before the deployment
    const v1 = await localInfraDriver.provisionEnvironment(
      ref("v1"),
      { run: { ...base, instances: 1, env: { ...run.env, DATABASE_URL: db.url } }, env: {} },
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
      run,
      environments: { e2e: { target: "local" } },
      release: {
        verify: [{ http: { path: "/health" } }, { http: { path: "/api/products", bodyContains: '"items"' } }],
        steps: [
          { weight: 25, bake: "6s" },
          { weight: 100, bake: "4s" },
        ],
        analysis: {
          interval: "2s",
          minRequests: 3,
          inconclusiveLimit: 3,
          metrics: [
            { name: "error-rate", provider: "router", query: "error_rate", max: "5%", critical: true },
          ],
        },
        postPromotion: { watch: "2s", keepPrevious: "1s" },
      },
    });

    const connection = await Connection.connect({ address: inject("temporalAddress") });
    const client = new Client({ connection, dataConverter: devDataConverter() });
    const native = await NativeConnection.connect({ address: inject("temporalAddress") });
    const taskQueue = `e2e-${process.pid}`;
    const admin = new RouterClient({ adminUrl: router.adminUrl, token: router.token });
    const worker = await Worker.create({
      connection: native,
      taskQueue,
      workflowsPath: WORKFLOWS_PATH,
      dataConverter: devDataConverter(),
      activities: createActivities({
        infraTarget: localInfraDriver,
        router: traffic,
        metrics: createMetricProviders({ router: admin }),
        verifier: createHttpVerifyDriver(),
        notifier: createLogNotifier(() => {}),
        artifacts: createLocalArtifactStore(path.join(__dirname, "..", "..", "..")),
        env,
      }),
    });
    const load = generateLoad({
      url: router.url,
      durationMs: 40_000, // outlasts the deployment (~20 s); without traffic the analysis would pause (no data)
      maxRequests: 1_000_000,
      concurrency: 6,
      rps: 80,
    });
    try {
      const { result, status } = await worker.runUntil(async () => {
        const handle = await startDeployment(
          client,
          {
            service: "shop",
            environment: "e2e",
            version: "v2",
            artifact: "examples/shop/server.js",
            requestedBy: "ci",
            reason: "e2e",
            config,
            configDigest: "e2e",
          },
          { taskQueue },
        );
        // a stuck deployment fails with its status instead of a bare timeout
        const stuck = new Promise<never>((_, reject) =>
          setTimeout(async () => {
            const s = await handle.query(statusQuery).catch((e: Error) => e);
            reject(new Error(`deployment did not finish: ${JSON.stringify(s).slice(0, 3000)}`));
          }, 100_000).unref(),
        );
        const result = await Promise.race([handle.result(), stuck]);
        return { result, status: await handle.query(statusQuery) };
      });
      expect(result.outcome, result.reason ?? "").toBe("promoted");
      expect(status.analysis.verdicts.filter((v) => v.decision === "fail")).toEqual([]);
      expect(status.analysis.verdicts.at(-1)?.line).toMatch(/passed|metric/);
      const routes = await traffic.getRoutes(scope);
      expect(routes.backends.blue?.version).toBe("v2");
      expect(routes.backends.green).toBeUndefined();
      expect(processesOfStack("shop-e2e-v1")).toEqual([]);
      expect(processesOfStack("shop-e2e-v2").length).toBeGreaterThan(0);
    } finally {
      await native.close();
      await connection.close();
      await load.catch(() => undefined);
    }
  });
});
