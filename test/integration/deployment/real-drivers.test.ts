import fs from "node:fs";
import path from "node:path";
import { Client, Connection } from "@temporalio/client";
import { NativeConnection, Worker } from "@temporalio/worker";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createActivities } from "../../../activities";
import { engineMigrationDriver } from "../../../activities/migration-driver";
import { createLogNotifier } from "../../../activities/notify-log";
import { deploymentResult } from "../../../client/deployment-result";
import { startDeployment } from "../../../client/start";
import { localStackName } from "../../../infra/local/program";
import {
  ensureRouterProcess,
  type RouterProcessInfo,
  stopRouterProcess,
} from "../../../infra/local/router-process";
import { createLocalTrafficRouter } from "../../../infra/local/traffic-router";
import { createTargets } from "../../../infra/targets";
import { treeDigest } from "../../../lib/artifacts/content";
import { devDataConverter } from "../../../lib/codec/data-converter";
import { ReleaseConfigSchema } from "../../../lib/config/schema";
import type { VersionEnvironmentRef } from "../../../lib/drivers/common";
import { generateLoad } from "../../../scripts/load/generate-load";
import { WORKFLOWS_PATH } from "../../../workers/workflow-bundle";
import { statusQuery } from "../../../workflows/deployment/messages";
import { freshDatabase } from "../../support/postgres";
import { localDriver, processesOfStack, SHOP_ARTIFACT, shopRun } from "../local/helpers";

/**
 * DeploymentWorkflow on the real drivers (the twin of the fake-driver suites):
 * real Temporal dev server, Pulumi local target (shop processes), the local
 * router as data plane and metrics source, HTTP verification, under real
 * load. v1 is running as blue; the workflow ships v2 through 25% → 100% with
 * router-metric analysis, keeps v1 warm, then decommissions it.
 * (Schema migrations on the real engine: migration-driver.test.ts.)
 */
const stateDir = path.join(inject("testStateDir"), "deployment-e2e");
const { driver: localInfraDriver, pulumi } = localDriver(stateDir);
const scope = { service: "shop", environment: "e2e" };
const ref = (version: string): VersionEnvironmentRef => ({ deploymentId: "setup", ...scope, version });
let db: Awaited<ReturnType<typeof freshDatabase>>;
let router: RouterProcessInfo;

beforeAll(async () => {
  fs.mkdirSync(stateDir, { recursive: true });
  db = await freshDatabase("e2e");
  router = await ensureRouterProcess("shop-e2e", { stateDir });
});

afterAll(async () => {
  for (const v of ["v1", "v2"]) await localInfraDriver.destroyEnvironment(ref(v), () => {}).catch(() => {});
  if (router) await stopRouterProcess("shop-e2e", { purge: true, stateDir });
  await db?.drop();
});

describe("DeploymentWorkflow on real drivers", () => {
  it("ships v2 over a running v1 under load and decommissions v1", { timeout: 240_000 }, async () => {
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
    // The worker's environment: a credential of its own must not reach the smoke command.
    const env = {
      E2E_DATABASE_URL: db.url,
      WORKER_ONLY_CREDENTIAL: "worker-only-4b1d",
      PATH: process.env.PATH,
    };
    // v1 is production (blue) before the deployment
    const v1 = await localInfraDriver.provisionEnvironment(
      ref("v1"),
      {
        artifact: SHOP_ARTIFACT,
        run: { ...base, instances: 1, env: { ...run.env, DATABASE_URL: db.url } },
        env: {},
      },
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
        verify: [
          { http: { path: "/health" } },
          { http: { path: "/api/products", bodyContains: '"items"' } },
          // A smoke command gets what an instance gets (run.env resolved), never the worker's own variables.
          {
            command: `test "$DATABASE_URL" = "${db.url}" && test "$SHOP_AUTO_SCHEMA" = 1 && test -z "$WORKER_ONLY_CREDENTIAL" && test -z "$E2E_DATABASE_URL"`,
          },
        ],
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
    // The worker's own wiring: the local target from the factory, the real migration driver.
    const migrations = engineMigrationDriver({ env });
    const worker = await Worker.create({
      dataConverter: devDataConverter(),
      connection: native,
      taskQueue,
      workflowsPath: WORKFLOWS_PATH,
      activities: createActivities({
        targets: createTargets({ stateDir, pulumi, log: () => {} }),
        migrations,
        notifier: createLogNotifier(() => {}),
        env,
      }),
    });
    // Traffic until the deployment ends (without it the analysis pauses: no data).
    const stopLoad = new AbortController();
    const load = generateLoad({
      url: router.url,
      durationMs: 170_000,
      maxRequests: 1_000_000,
      concurrency: 6,
      rps: 80,
      signal: stopLoad.signal,
    });
    try {
      const { result, status } = await worker.runUntil(async () => {
        const handle = await startDeployment(
          client,
          {
            service: "shop",
            environment: "e2e",
            version: "v2",
            artifact: SHOP_ARTIFACT.location,
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
          }, 150_000).unref(),
        );
        const result = await Promise.race([deploymentResult(handle), stuck]);
        return { result, status: await handle.query(statusQuery) };
      });
      expect(result.outcome, result.reason ?? "").toBe("promoted");
      expect(status.analysis.verdicts.filter((v) => v.decision === "fail")).toEqual([]);
      // The post-promotion watch concluded last, on the one metric, at full traffic.
      expect(status.analysis.verdicts.at(-1)?.line).toMatch(
        /^step passed at 100% traffic: 1 metrics, \d+ samples/,
      );
      const routes = await traffic.getRoutes(scope);
      expect(routes.backends.blue?.version).toBe("v2");
      expect(routes.backends.green).toBeUndefined();
      expect(
        processesOfStack(localStackName({ service: "shop", environment: "e2e", version: "v1" }, stateDir)),
      ).toEqual([]);
      const green = processesOfStack(
        localStackName({ service: "shop", environment: "e2e", version: "v2" }, stateDir),
      );
      expect(green.length).toBeGreaterThan(0);
      // v2 runs from its own release folder, a copy of the artifact with the same content digest.
      const release = path.join(stateDir, "releases", "shop", "v2", "app");
      expect(fs.realpathSync(`/proc/${green[0]}/cwd`)).toBe(fs.realpathSync(release));
      const digest = treeDigest(SHOP_ARTIFACT.location);
      expect(treeDigest(release)).toBe(digest);
      expect(status.artifactDigest).toBe(digest);
      expect(status.serving).toEqual({ version: "v2", artifactDigest: digest });
      expect(status.endpoint).toBe(router.url);
    } finally {
      await migrations.close();
      await native.close();
      await connection.close();
      stopLoad.abort();
      await load.catch(() => undefined);
    }
  });
});
