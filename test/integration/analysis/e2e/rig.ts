import fs from "node:fs";
import path from "node:path";
import { Client, Connection, type WorkflowHandle } from "@temporalio/client";
import { NativeConnection, Worker } from "@temporalio/worker";
import { createActivities } from "../../../../activities";
import { createMetricProviders } from "../../../../activities/metrics/registry";
import { engineMigrationDriver } from "../../../../activities/migration-driver";
import { createLogNotifier } from "../../../../activities/notify-log";
import { deploymentResult } from "../../../../client/deployment-result";
import { startDeployment } from "../../../../client/start";
import { localStackName } from "../../../../infra/local/program";
import { RouterClient } from "../../../../infra/local/router/client";
import {
  ensureRouterProcess,
  type RouterProcessInfo,
  stopRouterProcess,
} from "../../../../infra/local/router-process";
import { createLocalTarget } from "../../../../infra/local/target";
import { createLocalTrafficRouter } from "../../../../infra/local/traffic-router";
import { devDataConverter } from "../../../../lib/codec/data-converter";
import { ReleaseConfigSchema } from "../../../../lib/config/schema";
import type { DeploymentResult } from "../../../../lib/deployment/types";
import type { VersionEnvironmentRef } from "../../../../lib/drivers/common";
import type { TrafficRouter } from "../../../../lib/drivers/traffic-router";
import { generateLoad, type LoadReport } from "../../../../scripts/load/generate-load";
import { WORKFLOWS_PATH } from "../../../../workers/workflow-bundle";
import { statusQuery } from "../../../../workflows/deployment/messages";
import type { DeploymentStatus } from "../../../../workflows/deployment/state";
import { singleTarget } from "../../../support/fakes";
import { localDriver, SHOP_ARTIFACT } from "../../local/shop";

/**
 * Shared by test/integration/analysis/end-to-end.test.ts and bench/rollback-speed.ts:
 * the real local target (Pulumi local stacks running examples/shop/server.js),
 * one real local router for the scope, a Temporal worker with the real drivers
 * (router + optional Prometheus metric providers), and v1 running as blue.
 */
export const FAULT_PRELOAD = path.join(__dirname, "fault-preload.cjs");
export const SHOP_COMMAND = "node server.js";

export interface RigOptions {
  temporalAddress: string;
  databaseUrl: string;
  stateDir: string;
  /** Router process name and environment name (one router per scope). */
  environment: string;
  prometheusUrl?: string;
  log?: (line: string) => void;
}

export interface Rig {
  scope: { service: string; environment: string };
  router: RouterProcessInfo;
  traffic: TrafficRouter;
  admin: RouterClient;
  client: Client;
  taskQueue: string;
  /** Starts DeploymentWorkflow for `version` with this `release` section and extra run env. */
  deploy(
    version: string,
    release: Record<string, unknown>,
    runEnv?: Record<string, string>,
  ): Promise<WorkflowHandle>;
  status(handle: WorkflowHandle): Promise<DeploymentStatus>;
  result(handle: WorkflowHandle, timeoutMs: number): Promise<DeploymentResult>;
  stackName(version: string): string;
  close(): Promise<void>;
}

export function shopEnv(databaseUrl: string): Record<string, string> {
  return {
    SHOP_CONFIG: "config/app.json",
    DATABASE_URL: databaseUrl,
    SHOP_AUTO_SCHEMA: "1",
  };
}

export async function startRig(o: RigOptions): Promise<Rig> {
  fs.mkdirSync(o.stateDir, { recursive: true });
  const { driver: localInfraDriver, pulumi } = localDriver(o.stateDir);
  const scope = { service: "shop", environment: o.environment };
  const ref = (version: string): VersionEnvironmentRef => ({ deploymentId: "setup", ...scope, version });
  const router = await ensureRouterProcess(`shop-${o.environment}`, { stateDir: o.stateDir });
  const traffic = createLocalTrafficRouter({
    adminUrl: router.adminUrl,
    token: router.token,
    healthPath: "/health",
  });
  const admin = new RouterClient({ adminUrl: router.adminUrl, token: router.token });
  // v1 is production (blue) before any deployment
  const v1 = await localInfraDriver.provisionEnvironment(
    ref("v1"),
    {
      artifact: SHOP_ARTIFACT,
      run: {
        command: SHOP_COMMAND,
        instances: 1,
        healthPath: "/health",
        startTimeout: 20_000,
        env: shopEnv(o.databaseUrl),
      },
      env: {},
    },
    () => {},
  );
  await traffic.setBackends(scope, { blue: { version: "v1", instances: v1.instances.map((i) => i.url) } });

  const connection = await Connection.connect({ address: o.temporalAddress });
  const client = new Client({ connection, dataConverter: devDataConverter() });
  const native = await NativeConnection.connect({ address: o.temporalAddress });
  const taskQueue = `analysis-e2e-${o.environment}-${process.pid}`;
  const worker = await Worker.create({
    connection: native,
    taskQueue,
    workflowsPath: WORKFLOWS_PATH,
    dataConverter: devDataConverter(),
    activities: createActivities({
      // The local target, with this rig's metric providers (a short Prometheus timeout for the outage cases).
      targets: singleTarget({
        ...createLocalTarget(
          { stateDir: o.stateDir, pulumi, log: o.log ?? (() => {}) },
          { kind: "local", healthPath: "/health" },
        ),
        metrics: createMetricProviders({
          router: admin,
          ...(o.prometheusUrl ? { prometheus: { url: o.prometheusUrl, timeoutMs: 1500 } } : {}),
        }),
      }),
      migrations: engineMigrationDriver({ env: {} }),
      notifier: createLogNotifier(o.log ?? (() => {})),
      env: { E2E_DATABASE_URL: o.databaseUrl },
    }),
  });
  const running = worker.run();
  const versions = new Set<string>(["v1"]);

  return {
    scope,
    router,
    traffic,
    admin,
    client,
    taskQueue,
    async deploy(version, release, runEnv = {}) {
      versions.add(version);
      const { SHOP_CONFIG, SHOP_AUTO_SCHEMA } = shopEnv(o.databaseUrl);
      const config = ReleaseConfigSchema.parse({
        service: "shop",
        run: {
          command: SHOP_COMMAND,
          instances: 1,
          healthPath: "/health",
          startTimeout: "20s",
          // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal ${env:NAME} syntax
          env: { SHOP_CONFIG, SHOP_AUTO_SCHEMA, DATABASE_URL: "${env:E2E_DATABASE_URL}", ...runEnv },
        },
        environments: { [o.environment]: { target: "local" } },
        release: { verify: [{ http: { path: "/health" } }], ...release },
      });
      return startDeployment(
        client,
        {
          service: "shop",
          environment: o.environment,
          version,
          artifact: SHOP_ARTIFACT.location,
          requestedBy: "ci",
          reason: "analysis e2e",
          config,
          configDigest: `analysis-e2e-${version}`,
        },
        { taskQueue },
      );
    },
    status: (handle) => handle.query(statusQuery),
    async result(handle, timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const stuck = new Promise<never>((_, reject) => {
        timer = setTimeout(async () => {
          const s = await handle.query(statusQuery).catch((e: Error) => e);
          reject(
            new Error(`deployment did not finish in ${timeoutMs} ms: ${JSON.stringify(s).slice(0, 3000)}`),
          );
        }, timeoutMs);
      });
      try {
        return (await Promise.race([deploymentResult(handle), stuck])) as DeploymentResult;
      } finally {
        clearTimeout(timer);
      }
    },
    stackName: (version) =>
      localStackName({ service: "shop", environment: o.environment, version }, o.stateDir),
    async close() {
      worker.shutdown();
      await running.catch(() => undefined);
      await native.close();
      await connection.close();
      for (const v of versions) await localInfraDriver.destroyEnvironment(ref(v), () => {}).catch(() => {});
      await stopRouterProcess(`shop-${o.environment}`, { purge: true, stateDir: o.stateDir });
    },
  };
}

/** Poll `check` every `everyMs` until it returns a value (not undefined) or time runs out. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs: number,
  everyMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * Real load through the router (scripts/load/generate-load.ts) in 2 s chunks
 * until stop() — generateLoad has no cancel, so chunks keep stop() prompt.
 */
export function backgroundLoad(url: string, rps: number, concurrency: number) {
  let stopped = false;
  const reports: LoadReport[] = [];
  const done = (async () => {
    for (let i = 0; !stopped && i < 1000; i++) {
      reports.push(await generateLoad({ url, durationMs: 2000, maxRequests: rps * 2 + 5, concurrency, rps }));
    }
  })();
  return {
    reports,
    async stop(): Promise<LoadReport[]> {
      stopped = true;
      await done;
      return reports;
    },
  };
}

/**
 * Observes every response the load generator (global fetch) receives: `onResponse`
 * gets the time and the router's x-shipshape-backend header. Returns an undo.
 */
export function observeResponses(onResponse: (atMs: number, backend: string | null) => void): () => void {
  const original = globalThis.fetch;
  globalThis.fetch = (async (...args: Parameters<typeof fetch>) => {
    const res = await original(...args);
    onResponse(Date.now(), res.headers.get("x-shipshape-backend"));
    return res;
  }) as typeof fetch;
  return () => {
    globalThis.fetch = original;
  };
}
