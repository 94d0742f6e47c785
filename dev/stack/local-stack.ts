import fs from "node:fs";
import path from "node:path";
import { TASK_QUEUE } from "../../lib/names";
import { freePort, portIsFree } from "../../lib/runtime/free-port";
import { PROJECT_ROOT } from "../../lib/runtime/paths";
import { type DetachedProcess, spawnDetached, stopGroup, tailLog } from "../../lib/runtime/process-group";
import { readManifest } from "../../lib/runtime/toolchain-manifest";
import { type PostgresCluster, startPostgresCluster } from "../services/postgres-cluster";
import { startTemporalDevServer, type TemporalDevServer } from "../services/temporal-dev-server";

export interface LocalStackOptions {
  /** Folder for this stack's state: SQLite file, PostgreSQL data, logs, Pulumi backend. */
  dir: string;
  temporalPort: number;
  uiPort: number | null;
  /** Keep Temporal history across restarts (dev) or start clean (demo). */
  persistent: boolean;
  withWorker: boolean;
  taskQueue?: string;
  /** The worker's signing policy folder (dev/signing.ts); none: unsigned deployments only. */
  policyDir?: string;
  log?: (line: string) => void;
}

export interface LocalStack {
  temporal: TemporalDevServer;
  postgres: PostgresCluster;
  databaseUrl: string;
  worker?: DetachedProcess;
  stateDir: string;
  taskQueue: string;
  startWorker(): Promise<DetachedProcess>;
  stop(): Promise<void>;
}

async function ensurePortFree(port: number, what: string, envVar: string): Promise<void> {
  if (!(await portIsFree(port))) {
    throw new Error(
      `${what} port ${port} is already in use — is another \`npm run dev\` running? Stop it, or pick another port with ${envVar}=<port>.`,
    );
  }
}

/**
 * The embedded platform of `npm run dev` and `npm run demo`: a Temporal dev
 * server (SQLite, Web UI, search attributes), a private PostgreSQL cluster
 * holding the application database, and a worker process. `stop()` stops all
 * of it — nothing is left running.
 */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const log = options.log ?? (() => {});
  const manifest = readManifest();
  const taskQueue = options.taskQueue ?? TASK_QUEUE;
  fs.mkdirSync(options.dir, { recursive: true });
  await ensurePortFree(options.temporalPort, "Temporal", "SHIPSHAPE_TEMPORAL_PORT");
  if (options.uiPort !== null) await ensurePortFree(options.uiPort, "Web UI", "SHIPSHAPE_UI_PORT");

  const started: Array<() => Promise<void> | void> = [];
  const stopAll = async () => {
    for (const stop of started.reverse()) {
      try {
        await stop();
      } catch (err) {
        log(`stop failed: ${String(err)}`);
      }
    }
    started.length = 0;
  };
  try {
    log("starting PostgreSQL…");
    const postgres = await startPostgresCluster({
      bindir: manifest.postgres.bindir,
      dataDir: path.join(options.dir, "postgres"),
      port: await freePort(),
    });
    started.push(() => postgres.stop());
    postgres.createDatabase("shop");
    const databaseUrl = postgres.urlFor("shop");

    log("starting Temporal dev server…");
    const temporal = await startTemporalDevServer({
      cliPath: manifest.temporal.path,
      port: options.temporalPort,
      uiPort: options.uiPort,
      dbFile: options.persistent ? path.join(options.dir, "temporal.sqlite") : undefined,
      logFile: path.join(options.dir, "temporal.log"),
    });
    started.push(() => temporal.stop());

    const stack: LocalStack = {
      temporal,
      postgres,
      databaseUrl,
      stateDir: options.dir,
      taskQueue,
      async startWorker() {
        const logFile = path.join(options.dir, "worker.log");
        const before = fs.existsSync(logFile) ? fs.statSync(logFile).size : 0;
        // `shipshape worker`, as a user runs it (the bin runs dist/ while it is the build of the
        // sources, else the sources through tsx); DATABASE_URL lets release configs say ${env:DATABASE_URL}.
        const worker = spawnDetached(
          process.execPath,
          [
            path.join(PROJECT_ROOT, "bin", "shipshape.cjs"),
            "worker",
            "--dev",
            "--state-dir",
            options.dir,
            "--task-queue",
            taskQueue,
            ...(options.policyDir ? ["--policy", options.policyDir] : []),
          ],
          {
            logFile,
            cwd: PROJECT_ROOT,
            env: {
              ...process.env,
              TEMPORAL_ADDRESS: temporal.address,
              TEMPORAL_NAMESPACE: temporal.namespace,
              DATABASE_URL: databaseUrl,
            },
          },
        );
        const deadline = Date.now() + 90_000;
        while (!fs.readFileSync(logFile, "utf8").slice(before).includes(`: polling ${taskQueue} `)) {
          if (worker.child.exitCode !== null || Date.now() > deadline) {
            throw new Error(`worker did not start:\n${tailLog(logFile)}`);
          }
          await new Promise((r) => setTimeout(r, 100));
        }
        stack.worker = worker;
        started.push(() => stopGroup(worker, 35_000));
        return worker;
      },
      stop: stopAll,
    };
    if (options.withWorker) {
      log("starting worker…");
      await stack.startWorker();
    }
    return stack;
  } catch (err) {
    await stopAll();
    throw err;
  }
}
