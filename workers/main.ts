/**
 * The worker process: `tsx workers/main.ts` (the dev stack and demo start it).
 *
 * Environment: the standard TEMPORAL_* variables (see workers/connection.ts),
 * SHIPSHAPE_TASK_QUEUE, DATABASE_URL (the application database the skeleton
 * records deployments in), SHIPSHAPE_WORKFLOW_BUNDLE (optional pre-built bundle).
 * SIGINT/SIGTERM shut it down gracefully; SIGKILL is what the crash tests use.
 */
import { Pool } from "pg";
import { createActivities } from "../activities";
import { pgDeploymentRecords } from "../activities/database";
import { skeletonInfraDriver } from "../infra/skeleton/driver";
import { TASK_QUEUE } from "../lib/names";
import { temporalTarget } from "./connection";
import { createDeploymentWorker } from "./create-worker";

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
  const { worker, connection } = await createDeploymentWorker({
    target,
    taskQueue,
    activities: createActivities({ infra: skeletonInfraDriver, records: pgDeploymentRecords(pool) }),
    workflowBundlePath: process.env.SHIPSHAPE_WORKFLOW_BUNDLE,
    identity: `shipshape-worker-${process.pid}`,
  });
  console.log(
    `worker ${process.pid}: polling ${taskQueue} on ${target.address} (namespace ${target.namespace})`,
  );
  try {
    await worker.run();
  } finally {
    await connection.close();
    await pool.end();
    console.log(`worker ${process.pid}: stopped`);
  }
}

main().catch((err) => {
  console.error("worker failed:", err);
  process.exit(1);
});
