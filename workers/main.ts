/**
 * The worker process: `node dist/workers/main.js` as built by `npm run build`
 * (the dev stack, demo and chaos start that while dist/ is current, else
 * `tsx workers/main.ts`).
 *
 * Environment: the standard TEMPORAL_* variables (see workers/connection.ts),
 * SHIPSHAPE_TASK_QUEUE, DATABASE_URL (the application database: skeleton
 * records, and the migration engine), SHIPSHAPE_WORKFLOW_BUNDLE (a bundle to
 * run; by default the one `npm run build` made, when it is current — see
 * chooseWorkflowCode). DeploymentWorkflow drivers (local target): the Pulumi
 * local infra driver, the local router per service+environment (found through
 * its process.json), HTTP verification, a log notifier, local artifacts under
 * SHIPSHAPE_ARTIFACT_ROOT (default: cwd), metrics from the service's local
 * router, PROMETHEUS_URL and http-json, and migrations from SHIPSHAPE_MIGRATIONS_DIR when set.
 * SIGINT/SIGTERM shut it down gracefully; SIGKILL is what the crash tests use.
 */
import path from "node:path";
import { Pool } from "pg";
import { createActivities } from "../activities";
import { pgDeploymentRecords } from "../activities/database";
import { createMetricProviders } from "../activities/metrics/registry";
import { createScopedRouterProvider } from "../activities/metrics/scoped-router-provider";
import { engineMigrationDriver } from "../activities/migration-driver";
import { createLocalArtifactStore, createLogNotifier } from "../activities/notify-log";
import { createHttpVerifyDriver } from "../activities/verify-http";
import { localInfraDriver } from "../infra/local/driver";
import { routerResolver } from "../infra/local/router-process";
import { createLocalTrafficRouter } from "../infra/local/traffic-router";
import { skeletonInfraDriver } from "../infra/skeleton/driver";
import { createMigrationEngine, type MigrationEngine } from "../lib/migrations/engine";
import { TASK_QUEUE } from "../lib/names";
import { PROJECT_ROOT } from "../lib/runtime/paths";
import { temporalTarget } from "./connection";
import { createDeploymentWorker } from "./create-worker";
import { chooseWorkflowCode } from "./workflow-bundle";

async function main(): Promise<void> {
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    console.error(
      "worker: DATABASE_URL is not set (the application database Shipshape migrates and records into)",
    );
    process.exit(2);
  }
  const pool = new Pool({ connectionString: databaseUrl, max: 5 });
  const target = temporalTarget();
  const taskQueue = process.env.SHIPSHAPE_TASK_QUEUE ?? TASK_QUEUE;
  const engines = new Map<string, MigrationEngine>();
  const migrationsDir = process.env.SHIPSHAPE_MIGRATIONS_DIR;
  const workflowCode = chooseWorkflowCode();
  console.log(
    `worker ${process.pid}: ${path.relative(PROJECT_ROOT, __filename)}; workflow code ${workflowCode.bundle ? `from ${workflowCode.bundle}` : "bundled from the sources"} (${workflowCode.why})`,
  );
  const { worker, connection } = await createDeploymentWorker({
    target,
    taskQueue,
    activities: createActivities({
      infra: skeletonInfraDriver,
      records: pgDeploymentRecords(pool),
      infraTarget: localInfraDriver,
      router: createLocalTrafficRouter(routerResolver()),
      verifier: createHttpVerifyDriver(),
      notifier: createLogNotifier(),
      artifacts: createLocalArtifactStore(process.env.SHIPSHAPE_ARTIFACT_ROOT ?? process.cwd()),
      metrics: createMetricProviders({
        ...(process.env.PROMETHEUS_URL ? { prometheus: { url: process.env.PROMETHEUS_URL } } : {}),
        httpJson: {},
        // The router provider per service+environment: each has its own local router.
        extra: { router: createScopedRouterProvider(routerResolver()) },
      }),
      ...(migrationsDir
        ? {
            migrations: engineMigrationDriver({
              engineFor: (ref) => {
                let e = engines.get(ref.service);
                if (!e) {
                  e = createMigrationEngine({ connectionString: databaseUrl, service: ref.service });
                  engines.set(ref.service, e);
                }
                return e;
              },
              migrationsDirFor: () => migrationsDir,
            }),
          }
        : {}),
    }),
    workflowBundlePath: workflowCode.bundle,
    identity: `shipshape-worker-${process.pid}`,
  });
  console.log(
    `worker ${process.pid}: polling ${taskQueue} on ${target.address} (namespace ${target.namespace})`,
  );
  try {
    await worker.run();
  } finally {
    await connection.close();
    for (const e of engines.values()) await e.close();
    await pool.end();
    console.log(`worker ${process.pid}: stopped`);
  }
}

main().catch((err) => {
  console.error("worker failed:", err);
  process.exit(1);
});
