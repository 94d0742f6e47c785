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
import { localInfraDriver } from "../../infra/local/driver";
import { ensureRouterProcess, routerNameFor, stopRouterProcess } from "../../infra/local/router-process";
import { createLocalTrafficRouter } from "../../infra/local/traffic-router";
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
  /** The folder the worker reads the release's migrations from (SHIPSHAPE_MIGRATIONS_DIR). */
  migrationsDir: string;
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
  const engine = createMigrationEngine({ connectionString: stack.databaseUrl, service: SCOPE.service });
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

async function startRouter(cleanups: CampaignCleanups, log: (line: string) => void) {
  const routerName = routerNameFor(SCOPE);
  const router = await ensureRouterProcess(routerName);
  cleanups.add(() => stopRouterProcess(routerName, { purge: true }));
  const traffic = createLocalTrafficRouter({
    adminUrl: router.adminUrl,
    token: router.token,
    healthPath: "/health",
  });
  // Whatever happens, no shop instance or Pulumi stack of the campaign outlives it.
  cleanups.add(async () => {
    const prefix = `${SCOPE.service}-${SCOPE.environment}-`;
    for (const st of pulumiStacks().filter((x) => x.startsWith(prefix))) {
      await localInfraDriver
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

async function startWorkerAndBlue(stack: LocalStack, traffic: ShopTrafficRouter, migrationsDir: string) {
  process.env.SHOP_DATABASE_URL = stack.databaseUrl;
  process.env.SHIPSHAPE_MIGRATIONS_DIR = migrationsDir;
  const workerReady = stack.startWorker();
  await startShopAsBlue({ scope: SCOPE, version: "c0", databaseUrl: stack.databaseUrl, traffic });
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
  const migrationsDir = path.join(dir, "release", "migrations");
  const { pool, engine } = await startDatabase(stack, migrationsDir, cleanups);
  const { router, routerName, traffic, ports } = await startRouter(cleanups, log);
  log("  · starting the worker and shop c0 (blue)…");
  await startWorkerAndBlue(stack, traffic, migrationsDir);

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
  const client = new Client({ connection, namespace: stack.temporal.namespace });
  log(
    `  · stack up in ${((Date.now() - startedAt) / 1000).toFixed(1)} s; load ${s.rps} req/s through ${router.url}`,
  );
  return {
    stack,
    pool,
    engine,
    migrationsDir,
    traffic,
    routerName,
    load,
    metrics,
    client,
    infraPorts: [stack.temporal.port, stack.postgres.port, ...ports],
    stopLoad,
  };
}
