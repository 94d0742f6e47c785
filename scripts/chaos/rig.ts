/**
 * The campaign's rig on the embedded stack: a private Temporal dev server
 * (persistent SQLite, so it can be restarted), PostgreSQL with the shop's
 * initial schema, the shop's router, a worker with the real local drivers,
 * shop `c0` as blue, load through the router for the whole campaign, the
 * metrics endpoint analysis reads, and a Temporal client. Everything it starts
 * is registered with the campaign's cleanups.
 */

import path from "node:path";
import { Client, Connection } from "@temporalio/client";
import { Pool } from "pg";
import { type LocalStack, startLocalStack } from "../../dev/stack/local-stack";
import { startShopAsBlue } from "../../dev/stack/shop-blue";
import { createLocalInfraDriver } from "../../infra/local/driver";
import { ensureRouterProcess, routerNameFor, stopRouterProcess } from "../../infra/local/router-process";
import { createLocalTrafficRouter } from "../../infra/local/traffic-router";
import { devPulumiSettings, type PulumiSettings } from "../../infra/pulumi/settings";
import { devDataConverter } from "../../lib/codec/data-converter";
import type { InfraDriver } from "../../lib/drivers/infra-driver";
import { createMigrationEngine, type MigrationEngine } from "../../lib/migrations/engine";
import { loadMigrationsDir } from "../../lib/migrations/file-format";
import { freePort } from "../../lib/runtime/free-port";
import type { CampaignCleanups } from "./cleanups";
import { type MetricsEndpoint, startMetricsEndpoint } from "./metrics-endpoint";
import { SCOPE, stageMigrations } from "./release";
import type { CampaignSettings } from "./results";
import { pulumiStacks, reapScopeProcesses } from "./system";
import { startTraffic, type TrafficLog } from "./traffic";

export type ShopTrafficRouter = ReturnType<typeof createLocalTrafficRouter>;

export interface CampaignRig {
  stack: LocalStack;
  pool: Pool;
  engine: MigrationEngine;
  /**
   * The run's release, as a repository holds it: `shipshape.yaml` here and its
   * `migrations/` folder (read into each deployment's input, like the CLI does).
   */
  releaseDir: string;
  migrationsDir: string;
  /** The worker's state folder (`shipshape worker --state-dir`): releases, instances, the router, Pulumi. */
  stateDir: string;
  /** The worker's Pulumi backend (dev settings under the state folder): the leak checks read it. */
  pulumi: PulumiSettings;
  /** The local infra driver on that state folder: blue's teardown and the last-resort cleanup. */
  infra: InfraDriver;
  traffic: ShopTrafficRouter;
  /** The router's name (its HAProxy is what the proxy-kill fault kills). */
  routerName: string;
  load: TrafficLog;
  metrics: MetricsEndpoint;
  client: Client;
  /** Every port the campaign's infrastructure used; all must be free after teardown. */
  infraPorts: number[];
  /** Stops the load (teardown does, before destroying blue); the cleanup then leaves it. */
  stopLoad(): Promise<void>;
}

interface RigOptions {
  dir: string;
  settings: CampaignSettings;
  random: () => number;
  cleanups: CampaignCleanups;
  startedAt: number;
}

async function startDatabase(stack: LocalStack, migrationsDir: string, cleanups: CampaignCleanups) {
  const pool = new Pool({ connectionString: stack.databaseUrl, max: 2 });
  pool.on("error", () => undefined); // idle clients die with the postgres-stop fault
  // The engine of the worker's deployments: scoped to the shop in the chaos environment.
  const engine = createMigrationEngine({ connectionString: stack.databaseUrl, ...SCOPE });
  cleanups.add(async () => {
    await engine.close().catch(() => undefined);
    await pool.end().catch(() => undefined);
  });
  stageMigrations(migrationsDir, []);
  for (const { definition } of loadMigrationsDir(migrationsDir)) {
    await engine.start(definition);
    await engine.complete(definition.name);
  }
  return { pool, engine };
}

async function startRouter(
  cleanups: CampaignCleanups,
  worker: { stateDir: string; pulumi: PulumiSettings; infra: InfraDriver },
  log: (line: string) => void,
) {
  // Under the worker's state folder: that is where its traffic router looks for the shop's router.
  const routerName = routerNameFor(SCOPE);
  const router = await ensureRouterProcess(routerName, { stateDir: worker.stateDir });
  cleanups.add(() => stopRouterProcess(routerName, { purge: true, stateDir: worker.stateDir }));
  const traffic = createLocalTrafficRouter({
    adminUrl: router.adminUrl,
    token: router.token,
    healthPath: "/health",
  });
  // Whatever happens, no shop instance or Pulumi stack of the campaign outlives it.
  cleanups.add(async () => {
    const prefix = `${SCOPE.service}-${SCOPE.environment}-`;
    for (const st of pulumiStacks(worker.pulumi).filter((x) => x.startsWith(prefix))) {
      await worker.infra
        .destroyEnvironment(
          { deploymentId: "chaos-cleanup", ...SCOPE, version: st.slice(prefix.length) },
          () => {},
        )
        .catch((err) => log(`  · destroy ${st}: ${String(err)}`));
    }
    await reapScopeProcesses(prefix);
  });
  return {
    router,
    routerName,
    traffic,
    ports: [Number(new URL(router.url).port), Number(new URL(router.adminUrl).port)],
  };
}

/**
 * `shipshape worker` on the campaign's state folder (its DATABASE_URL is the
 * stack's database: the chaos config says ${env:DATABASE_URL}) and shop c0
 * staged and started as blue under the same folder.
 */
async function startWorkerAndBlue(
  stack: LocalStack,
  traffic: ShopTrafficRouter,
  worker: { stateDir: string; pulumi: PulumiSettings },
) {
  const workerReady = stack.startWorker();
  await startShopAsBlue({
    scope: SCOPE,
    version: "c0",
    databaseUrl: stack.databaseUrl,
    traffic,
    stateDir: worker.stateDir,
    pulumi: worker.pulumi,
  });
  await workerReady;
}

export async function startCampaignRig({
  dir,
  settings: s,
  random,
  cleanups,
  startedAt,
}: RigOptions): Promise<CampaignRig> {
  const log = s.log;
  const stack = await startLocalStack({
    dir,
    temporalPort: await freePort(),
    uiPort: null,
    persistent: true,
    withWorker: false,
    taskQueue: "shipshape-chaos",
    log: (l) => log(`  · ${l}`),
  });
  cleanups.add(() => stack.stop());
  // The worker's state folder is the stack's (local-stack starts it with --state-dir dir).
  const worker = { stateDir: stack.stateDir, pulumi: devPulumiSettings(stack.stateDir) };
  const infra = createLocalInfraDriver(worker);
  const releaseDir = path.join(dir, "release");
  const migrationsDir = path.join(releaseDir, "migrations");
  const { pool, engine } = await startDatabase(stack, migrationsDir, cleanups);
  const { router, routerName, traffic, ports } = await startRouter(cleanups, { ...worker, infra }, log);
  log("  · starting the worker and shop c0 (blue)…");
  await startWorkerAndBlue(stack, traffic, worker);

  const load = startTraffic({ url: router.url, rps: s.rps, concurrency: s.concurrency, random });
  let loadStopped = false;
  const stopLoad = async () => {
    if (loadStopped) return;
    loadStopped = true;
    await load.stop();
  };
  cleanups.add(stopLoad);
  const metrics = await startMetricsEndpoint(load);
  cleanups.add(() => metrics.close());
  const connection = await Connection.connect({ address: stack.temporal.address });
  cleanups.add(() => connection.close());
  const client = new Client({
    connection,
    namespace: stack.temporal.namespace,
    dataConverter: devDataConverter(),
  });
  log(
    `  · stack up in ${((Date.now() - startedAt) / 1000).toFixed(1)} s; load ${s.rps} req/s through ${router.url}`,
  );
  return {
    stack,
    pool,
    engine,
    releaseDir,
    migrationsDir,
    stateDir: worker.stateDir,
    pulumi: worker.pulumi,
    infra,
    traffic,
    routerName,
    load,
    metrics,
    client,
    infraPorts: [stack.temporal.port, stack.postgres.port, ...ports],
    stopLoad,
  };
}
