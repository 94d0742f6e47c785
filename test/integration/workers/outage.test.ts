import fs from "node:fs";
import path from "node:path";
import { Client, Connection } from "@temporalio/client";
import { Client as PgClient } from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import YAML from "yaml";
import { deploymentResult } from "../../../client/deployment-result";
import { buildDeploymentInput } from "../../../client/release-input";
import { startDeployment } from "../../../client/start";
import { type PostgresCluster, startPostgresCluster } from "../../../dev/services/postgres-cluster";
import { startTemporalDevServer, type TemporalDevServer } from "../../../dev/services/temporal-dev-server";
import { SHOP_ARTIFACT, startShopAsBlue } from "../../../dev/stack/shop-blue";
import { ensureRouterProcess, routerNameFor, stopRouterProcess } from "../../../infra/local/router-process";
import { createLocalTrafficRouter } from "../../../infra/local/traffic-router";
import { devPulumiSettings } from "../../../infra/pulumi/workspace";
import { devDataConverter } from "../../../lib/codec/data-converter";
import type { DeploymentResult } from "../../../lib/deployment/types";
import { createMigrationEngine } from "../../../lib/migrations/engine";
import { loadMigrationsDir } from "../../../lib/migrations/file-format";
import type { DetachedProcess } from "../../../lib/runtime/process-group";
import { readManifest } from "../../../lib/runtime/toolchain-manifest";
import { writeWorkflowBundle } from "../../../workers/workflow-bundle";
import { activityAttempts } from "../../support/inspect";
import { startWorkerProcess, stopGroup } from "../../support/worker-process";
import { localDriver } from "../local/helpers";

/**
 * A transient outage never ends the worker: `shipshape worker` (the real
 * process, real local target) runs a deployment whose schema expansion is
 * inside a transaction (waiting on a lock the test holds) when PostgreSQL
 * stops for 5 s while the Temporal server restarts. The worker must still be
 * running afterwards and carry the same deployment on to promoted.
 *
 * The test owns its PostgreSQL cluster and Temporal dev server (the run's
 * shared ones must not be stopped under other test files).
 */
const dir = path.join(inject("testStateDir"), "worker-outage");
const scope = { service: "shop", environment: "outage" };
const routerName = routerNameFor(scope);
const { driver: infra } = localDriver(dir);
const releaseDir = path.join(dir, "release");
const SHOP_MIGRATIONS = path.join(SHOP_ARTIFACT, "migrations");

let pg: PostgresCluster;
let temporal: TemporalDevServer;
let databaseUrl: string;
let worker: DetachedProcess | undefined;
let connection: Connection | undefined;
const workerLog = path.join(dir, "worker.log");

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** shipshape.yaml of the release (the shop on the local target, its database) and its migrations folder. */
function writeRelease(): string {
  const migrations = path.join(releaseDir, "migrations");
  fs.mkdirSync(migrations, { recursive: true });
  fs.copyFileSync(
    path.join(SHOP_MIGRATIONS, "0001_initial.yaml"),
    path.join(migrations, "0001_initial.yaml"),
  );
  fs.writeFileSync(
    path.join(migrations, "0002_outage_note.yaml"),
    YAML.stringify({
      description: "orders get a note (its expansion runs while the database goes away)",
      operations: [
        {
          add_column: {
            table: "orders",
            column: {
              name: "outage_note",
              type: "text",
              nullable: true,
              up: "'v1:' || coalesce(version, '?')",
            },
          },
        },
      ],
    }),
  );
  const file = path.join(releaseDir, "shipshape.yaml");
  fs.writeFileSync(
    file,
    YAML.stringify({
      service: scope.service,
      run: {
        command: "node server.js",
        instances: 1,
        healthPath: "/health",
        startTimeout: "30s",
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal ${env:NAME} syntax
        env: { DATABASE_URL: "${env:DATABASE_URL}", SHOP_CONFIG: "config/app.json" },
      },
      environments: { [scope.environment]: { target: "local" } },
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal ${env:NAME} syntax
      database: { url: "${env:DATABASE_URL}", migrations: "./migrations" },
      release: {
        verify: [{ http: { path: "/health", expect: 200 } }],
        steps: [{ weight: 50, bake: "1s" }, { weight: 100 }],
        postPromotion: { watch: "1s", keepPrevious: "1s" },
      },
    }),
  );
  return file;
}

beforeAll(async () => {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const manifest = readManifest();
  pg = await startPostgresCluster({
    bindir: manifest.postgres.bindir,
    dataDir: path.join(dir, "pg"),
    fast: true,
  });
  pg.createDatabase("shop");
  databaseUrl = pg.urlFor("shop");
  temporal = await startTemporalDevServer({
    cliPath: manifest.temporal.path,
    // On a file, so the restart keeps the deployment's history.
    dbFile: path.join(dir, "temporal.sqlite"),
    logFile: path.join(dir, "temporal.log"),
    uiPort: null,
  });
  // The shop's first schema, then shop v0 as blue behind the scope's router (what a deployment starts from).
  const configFile = writeRelease();
  const engine = createMigrationEngine({ connectionString: databaseUrl, ...scope });
  try {
    for (const { definition } of loadMigrationsDir(path.join(releaseDir, "migrations")).slice(0, 1)) {
      await engine.start(definition);
      await engine.complete(definition.name);
    }
  } finally {
    await engine.close();
  }
  const router = await ensureRouterProcess(routerName, { stateDir: dir });
  const traffic = createLocalTrafficRouter({
    adminUrl: router.adminUrl,
    token: router.token,
    healthPath: "/health",
  });
  await startShopAsBlue({
    scope,
    version: "v0",
    databaseUrl,
    traffic,
    stateDir: dir,
    pulumi: devPulumiSettings(dir),
  });
  worker = await startWorkerProcess({
    temporalAddress: temporal.address,
    taskQueue: "outage",
    stateDir: dir,
    workflowBundle: await writeWorkflowBundle(path.join(dir, "workflow-bundle.js")),
    logFile: workerLog,
    env: { DATABASE_URL: databaseUrl },
  });
  expect(fs.existsSync(configFile)).toBe(true);
});

afterAll(async () => {
  if (worker) await stopGroup(worker, 5000);
  await connection?.close().catch(() => undefined);
  for (const version of ["v0", "v1"])
    await infra
      .destroyEnvironment({ deploymentId: "outage-cleanup", ...scope, version }, () => {})
      .catch(() => undefined);
  await stopRouterProcess(routerName, { purge: true, stateDir: dir }).catch(() => undefined);
  await temporal?.stop();
  pg?.stop();
});

/** Waits until the worker's migration engine is inside a transaction, waiting for the lock on `orders`. */
async function expansionWaitingOnLock(admin: PgClient, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await admin.query(
      `SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE application_name = 'shipshape-migrate' AND state = 'active' AND wait_event_type = 'Lock'`,
    );
    if (r.rows[0].n > 0) return;
    if (Date.now() > deadline) throw new Error(`the expansion never waited on the lock:\n${tail()}`);
    await sleep(50);
  }
}

const tail = () => fs.readFileSync(workerLog, "utf8").split("\n").slice(-40).join("\n");

/** The deployment's result, asked again while the server is coming back. */
async function resultOf(client: Client, workflowId: string, timeoutMs: number): Promise<DeploymentResult> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await deploymentResult(client.workflow.getHandle(workflowId));
    } catch (err) {
      if ((err as Error).name === "WorkflowFailedError" || Date.now() > deadline) throw err;
      await sleep(500);
    }
  }
}

describe("shipshape worker through a transient outage", () => {
  it("PostgreSQL stopped 5 s mid-transaction while Temporal restarts: the worker stays up and the deployment is promoted", {
    timeout: 300_000,
  }, async () => {
    connection = await Connection.connect({ address: temporal.address });
    const client = new Client({ connection, dataConverter: devDataConverter() });
    // A long transaction holds orders: the expansion's DDL waits for it inside its own transaction.
    const holder = new PgClient({ connectionString: databaseUrl, application_name: "outage-test-lock" });
    holder.on("error", () => undefined); // it dies with the server, on purpose
    await holder.connect();
    await holder.query("BEGIN");
    await holder.query("LOCK TABLE orders IN ACCESS EXCLUSIVE MODE");

    const input = await buildDeploymentInput({
      configPath: path.join(releaseDir, "shipshape.yaml"),
      ...scope,
      version: "v1",
      artifact: SHOP_ARTIFACT,
      requestedBy: "ci",
    });
    const handle = await startDeployment(client, input, { taskQueue: "outage" });
    // Watched from another session: the holder's transaction sees one snapshot of the statistics.
    const watcher = new PgClient({ connectionString: databaseUrl });
    watcher.on("error", () => undefined);
    await watcher.connect();
    await expansionWaitingOnLock(watcher, 180_000);

    // The outage: PostgreSQL goes (the worker's checked-out connection with it) and, meanwhile,
    // the Temporal server restarts; PostgreSQL is back 5 s later.
    pg.stop();
    const restarted = temporal.restart(2000);
    await sleep(5000);
    await pg.start();
    await restarted;
    await sleep(3000);
    expect(worker?.child.exitCode, `the worker exited:\n${tail()}`).toBeNull();

    const result = await resultOf(client, handle.workflowId, 240_000);
    expect(result.outcome, result.reason ?? "").toBe("promoted");
    expect(worker?.child.exitCode, `the worker exited:\n${tail()}`).toBeNull();
    // The expansion lost its connection, was retried on this same worker and completed once.
    const expand = await activityAttempts(client, handle.workflowId, "expandSchema");
    expect(Math.max(...expand.started)).toBeGreaterThanOrEqual(2);
    expect(expand.completed).toBe(1);
    // The worker said what happened instead of dying of it.
    expect(fs.readFileSync(workerLog, "utf8")).toMatch(/database connection lost/);
  });
});
