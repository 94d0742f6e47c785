/**
 * Everything the demo's deployments run on: the embedded stack (Temporal dev
 * server + Web UI, PostgreSQL, Prometheus scraping every shop instance), the
 * shop's schema at v1, the local router, a worker with the real local
 * drivers, shop v1 as blue, and shoppers through the router for the whole
 * demo. Every start pushes its stop onto `cleanups` (run last-in first-out),
 * so a start that fails halfway still stops what it started.
 */

import path from "node:path";
import { Client, Connection } from "@temporalio/client";
import { Pool } from "pg";
import { instantValue } from "../../activities/metrics/prometheus-provider";
import { ensureSigningPolicy, type SigningPolicy } from "../../dev/signing";
import { type LocalStack, startLocalStack } from "../../dev/stack/local-stack";
import { startShopAsBlue } from "../../dev/stack/shop-blue";
import { createLocalInfraDriver } from "../../infra/local/driver";
import { ensureRouterProcess, routerNameFor, stopRouterProcess } from "../../infra/local/router-process";
import { createLocalTrafficRouter } from "../../infra/local/traffic-router";
import { devPulumiSettings, type PulumiSettings } from "../../infra/pulumi/workspace";
import { devDataConverter } from "../../lib/codec/data-converter";
import type { TrafficRouter } from "../../lib/drivers/traffic-router";
import { createMigrationEngine, type MigrationEngine } from "../../lib/migrations/engine";
import { loadMigrationsDir } from "../../lib/migrations/file-format";
import { freePort, portIsFree } from "../../lib/runtime/free-port";
import { PROJECT_ROOT } from "../../lib/runtime/paths";
import { type DetachedProcess, spawnDetached, stopGroup } from "../../lib/runtime/process-group";
import { SCOPE } from "./checks";
import { releaseConfig } from "./config";
import { stageMigrations } from "./migrations";

/** The shoppers' request rate through the router (SHIPSHAPE_DEMO_RPS overrides it). */
export const SHOPPERS_RPS = Number(process.env.SHIPSHAPE_DEMO_RPS ?? 300);
/** Every version the demo may start: the clean-up destroys whatever of them is left. */
export const DEMO_VERSIONS = ["v1", "v2", "v3", "v3b", "v4"];

export interface DemoStack {
  dir: string;
  stack: LocalStack;
  client: Client;
  traffic: TrafficRouter;
  engine: MigrationEngine;
  pool: Pool;
  /** Where the deploying version's migrations are staged, beside its release config (carried in the input). */
  migrationsDir: string;
  /** The worker's Pulumi settings (backend under `dir`): the checks look up stacks there. */
  pulumi: PulumiSettings;
  uiUrl: string;
  /**
   * The demo environment's approvers' keys (alice, bob) and the policy the
   * worker pins: every start is signed by alice, the approval by bob.
   */
  signing: SigningPolicy;
  /** An instant PromQL query's single value on the demo's Prometheus (null: no data or no answer). */
  promScalar(query: string): Promise<number | null>;
}

export type Cleanups = Array<() => Promise<unknown>>;
type Say = (line: string) => void;
type PromData = Parameters<typeof instantValue>[0];

async function portOr(envVar: string, preferred: number): Promise<number> {
  const explicit = process.env[envVar];
  if (explicit) return Number(explicit);
  return (await portIsFree(preferred)) ? preferred : await freePort();
}

/** The shop's production schema before the demo: v1's migration, applied like `shipshape migrate`. */
async function migrateToV1(engine: MigrationEngine, migrationsDir: string): Promise<void> {
  stageMigrations(migrationsDir, "v1");
  for (const { definition } of loadMigrationsDir(migrationsDir)) {
    await engine.start(definition);
    await engine.complete(definition.name);
  }
}

async function startRouter(
  dir: string,
  cleanups: Cleanups,
  say: Say,
): Promise<{ url: string; traffic: TrafficRouter }> {
  const name = routerNameFor(SCOPE);
  const router = await ensureRouterProcess(name, { stateDir: dir });
  cleanups.push(() => stopRouterProcess(name, { purge: true, stateDir: dir }));
  say(`router ${router.url} (admin ${router.adminUrl})`);
  const traffic = createLocalTrafficRouter({
    adminUrl: router.adminUrl,
    token: router.token,
    healthPath: "/health",
  });
  return { url: router.url, traffic };
}

/**
 * Shoppers (browse, search, add to cart, check out) through the router until
 * the demo stops them. At most 24 requests in flight: on a machine too busy
 * for 300 req/s the shoppers slow down instead of piling up requests, which
 * would only measure the queue.
 */
function startShoppers(dir: string, routerUrl: string, cleanups: Cleanups): DetachedProcess {
  const load = spawnDetached(
    path.join(PROJECT_ROOT, "node_modules", ".bin", "tsx"),
    [
      "scripts/load/generate-load.ts",
      ...["--url", routerUrl, "--duration", "1800s", "--max-requests", "100000000"],
      ...["--rps", String(SHOPPERS_RPS), "--concurrency", "24"],
    ],
    { logFile: path.join(dir, "load.log"), cwd: PROJECT_ROOT },
  );
  cleanups.push(() => stopGroup(load, 5000));
  return load;
}

/** Keys for the demo environment's approvers, made with ssh-keygen, and the worker's policy pinning them. */
function demoSigningPolicy(dir: string): SigningPolicy {
  const approvals = releaseConfig().config.environments[SCOPE.environment]?.approvals;
  if (!approvals)
    throw new Error(`the demo config has no approvals for ${SCOPE.environment}: nothing to sign`);
  return ensureSigningPolicy(path.join(dir, "signing"), SCOPE.service, SCOPE.environment, approvals);
}

export async function startDemoStack(dir: string, cleanups: Cleanups, say: Say): Promise<DemoStack> {
  // The worker's state folder (releases, instances, router, Pulumi backend) is this run's folder.
  const pulumi = devPulumiSettings(dir);
  const t0 = Date.now();
  const signing = demoSigningPolicy(dir);
  const stack = await startLocalStack({
    dir,
    policyDir: signing.policyDir,
    temporalPort: await portOr("SHIPSHAPE_TEMPORAL_PORT", 7233),
    uiPort: await portOr("SHIPSHAPE_UI_PORT", 8233),
    persistent: true,
    withWorker: false,
    prometheus: true,
    log: say,
  });
  cleanups.push(() => stack.stop());
  const pool = new Pool({ connectionString: stack.databaseUrl, max: 2 });
  const engine = createMigrationEngine({ connectionString: stack.databaseUrl, ...SCOPE });
  cleanups.push(async () => {
    await engine.close();
    await pool.end();
  });
  const migrationsDir = path.join(dir, "release", "migrations");
  await migrateToV1(engine, migrationsDir);
  say("shop database at schema 0001_initial");
  const router = await startRouter(dir, cleanups, say);
  say("starting worker (real local drivers) and shop v1…");
  const workerReady = stack.startWorker();
  cleanups.push(() => destroyDemoVersions(dir, pulumi, say));
  await startShopAsBlue({
    scope: SCOPE,
    version: "v1",
    databaseUrl: stack.databaseUrl,
    traffic: router.traffic,
    stateDir: dir,
    pulumi,
  });
  // Shoppers from now on, so blue has a history before the first deployment.
  startShoppers(dir, router.url, cleanups);
  await workerReady;
  const promUrl = stack.prometheus?.url ?? "";
  await waitForShoppers(promUrl);
  say(
    `stack up in ${((Date.now() - t0) / 1000).toFixed(1)} s: shop v1 behind the router, shoppers at ${SHOPPERS_RPS} req/s → ${router.url}`,
  );
  say(
    `Prometheus ${stack.prometheus?.url} scrapes every shop instance; Temporal Web UI ${stack.temporal.uiUrl}`,
  );
  const connection = await Connection.connect({ address: stack.temporal.address });
  cleanups.push(() => connection.close());
  const client = new Client({
    connection,
    namespace: stack.temporal.namespace,
    dataConverter: devDataConverter(),
  });
  return {
    dir,
    stack,
    client,
    traffic: router.traffic,
    engine,
    pool,
    migrationsDir,
    pulumi,
    uiUrl: stack.temporal.uiUrl ?? "",
    signing,
    promScalar: (query) => promScalar(promUrl, query),
  };
}

/**
 * Blue's numbers need shoppers first: waits (≤ 60 s) until Prometheus holds
 * 15 s of them at v1, so the first deployment compares against a baseline.
 */
async function waitForShoppers(promUrl: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  const query = 'count_over_time(sum(http_requests_total{version="v1",route=~"/api/.+"})[15s:1s])';
  while (Date.now() < deadline) {
    const points = await promScalar(promUrl, query);
    if (points !== null && points >= 15) return;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

async function promScalar(url: string, query: string): Promise<number | null> {
  try {
    const res = await fetch(`${url}/api/v1/query?${new URLSearchParams({ query })}`, {
      signal: AbortSignal.timeout(5000),
    });
    const body = (await res.json()) as { data?: PromData };
    return body.data ? instantValue(body.data) : null;
  } catch {
    return null;
  }
}

async function destroyDemoVersions(dir: string, pulumi: PulumiSettings, say: Say): Promise<void> {
  const driver = createLocalInfraDriver({ stateDir: dir, pulumi });
  for (const version of DEMO_VERSIONS) {
    await driver
      .destroyEnvironment({ deploymentId: "demo-cleanup", ...SCOPE, version }, () => {})
      .catch((err: unknown) => say(`destroy ${version} failed: ${String(err)}`));
  }
}
