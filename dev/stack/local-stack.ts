import fs from "node:fs";
import path from "node:path";
import { AesGcmPayloadCodec } from "../../lib/codec/aes-gcm-codec";
import { useDevCodecKeys } from "../../lib/codec/data-converter";
import { loadCodecKeys } from "../../lib/codec/keys";
import { startCodecServer } from "../../lib/codec/server";
import { loadOrCreateCodecToken } from "../../lib/codec/token";
import { TASK_QUEUE } from "../../lib/names";
import { freePort, portIsFree } from "../../lib/runtime/free-port";
import { PROJECT_ROOT } from "../../lib/runtime/paths";
import { type DetachedProcess, spawnDetached, stopGroup, tailLog } from "../../lib/runtime/process-group";
import {
  readManifest,
  requirePrometheus,
  type ToolchainManifest,
} from "../../lib/runtime/toolchain-manifest";
import { type PostgresCluster, startPostgresCluster } from "../services/postgres-cluster";
import { type PrometheusServer, startPrometheusServer } from "../services/prometheus-server";
import { startTemporalDevServer, type TemporalDevServer } from "../services/temporal-dev-server";
import { watchInstanceTargets } from "./instance-targets";

export interface LocalStackOptions {
  /** Folder for this stack's state: SQLite file, PostgreSQL data, logs, Pulumi backend. */
  dir: string;
  temporalPort: number;
  uiPort: number | null;
  /** Keep Temporal history across restarts (dev) or start clean (demo). */
  persistent: boolean;
  withWorker: boolean;
  /**
   * Start a Prometheus that scrapes every instance the local target runs under
   * `dir` (found from their pidfiles, so green is scraped from its start) and
   * give the worker its URL (PROMETHEUS_URL) for the `prometheus` metric provider.
   */
  prometheus?: boolean;
  taskQueue?: string;
  /** The worker's signing policy folder (dev/signing.ts); none: unsigned deployments only. */
  policyDir?: string;
  /** Port of the codec server the Web UI reads payloads through (only with a Web UI; default: free). */
  codecPort?: number;
  log?: (line: string) => void;
}

export interface LocalStack {
  temporal: TemporalDevServer;
  postgres: PostgresCluster;
  databaseUrl: string;
  prometheus?: PrometheusServer;
  worker?: DetachedProcess;
  /** The codec server behind the Web UI (with a Web UI only), and its token file. */
  codecServer?: { url: string; tokenFile?: string };
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

/** The codec server the Web UI decrypts payloads through; the browser is let in by its origin. */
async function startUiCodecServer(options: LocalStackOptions) {
  useDevCodecKeys();
  const { token, file } = loadOrCreateCodecToken();
  const server = await startCodecServer({
    codec: new AesGcmPayloadCodec(loadCodecKeys()),
    token,
    port: options.codecPort ?? 0,
    uiOrigins: [`http://127.0.0.1:${options.uiPort}`, `http://localhost:${options.uiPort}`],
  });
  return { server, tokenFile: file };
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

    const codec = options.uiPort === null ? undefined : await startUiCodecServer(options);
    if (codec) started.push(() => codec.server.close());

    log("starting Temporal dev server…");
    const temporal = await startTemporalDevServer({
      cliPath: manifest.temporal.path,
      port: options.temporalPort,
      uiPort: options.uiPort,
      ...(codec ? { uiCodecEndpoint: codec.server.url } : {}),
      dbFile: options.persistent ? path.join(options.dir, "temporal.sqlite") : undefined,
      logFile: path.join(options.dir, "temporal.log"),
    });
    started.push(() => temporal.stop());

    let prometheus: PrometheusServer | undefined;
    if (options.prometheus) {
      log("starting Prometheus (scrapes every local instance)…");
      prometheus = await startInstancePrometheus(options.dir, manifest, started);
    }

    const stack: LocalStack = {
      temporal,
      postgres,
      databaseUrl,
      ...(codec ? { codecServer: { url: codec.server.url, tokenFile: codec.tokenFile } } : {}),
      prometheus,
      stateDir: options.dir,
      taskQueue,
      async startWorker() {
        // `shipshape worker`, as a user runs it (the bin runs dist/ while it is the build of the
        // sources, else the sources through tsx); DATABASE_URL lets release configs say ${env:DATABASE_URL}.
        const worker = await spawnWorker(
          options.dir,
          taskQueue,
          [
            "--dev",
            "--state-dir",
            options.dir,
            "--task-queue",
            taskQueue,
            ...(options.policyDir ? ["--policy", options.policyDir] : []),
          ],
          {
            TEMPORAL_ADDRESS: temporal.address,
            TEMPORAL_NAMESPACE: temporal.namespace,
            DATABASE_URL: databaseUrl,
            SHIPSHAPE_CODEC_KEYS: useDevCodecKeys(),
            ...(prometheus ? { PROMETHEUS_URL: prometheus.url } : {}),
          },
        );
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

/** A `shipshape worker` process with `env` over ours; resolves once it polls `taskQueue`. */
async function spawnWorker(
  dir: string,
  taskQueue: string,
  workerArgs: string[],
  env: Record<string, string>,
): Promise<DetachedProcess> {
  const logFile = path.join(dir, "worker.log");
  const before = fs.existsSync(logFile) ? fs.statSync(logFile).size : 0;
  const worker = spawnDetached(
    process.execPath,
    [path.join(PROJECT_ROOT, "bin", "shipshape.cjs"), "worker", ...workerArgs],
    {
      logFile,
      cwd: PROJECT_ROOT,
      env: { ...process.env, ...env },
    },
  );
  const deadline = Date.now() + 90_000;
  while (!fs.readFileSync(logFile, "utf8").slice(before).includes(`: polling ${taskQueue} `)) {
    if (worker.child.exitCode !== null || Date.now() > deadline) {
      throw new Error(`worker did not start:\n${tailLog(logFile)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return worker;
}

/** Prometheus with one file-discovered job: the local target's instances under `dir`. */
async function startInstancePrometheus(
  dir: string,
  manifest: ToolchainManifest,
  started: Array<() => Promise<void> | void>,
): Promise<PrometheusServer> {
  const targetsFile = path.join(dir, "prometheus", "local-instances.json");
  const watch = watchInstanceTargets({ stateDir: dir, file: targetsFile });
  started.push(() => watch.stop());
  const prometheus = await startPrometheusServer({
    binary: requirePrometheus(manifest).path,
    storageDir: path.join(dir, "prometheus"),
    scrape: [{ job: "local-instances", targets: [], targetFiles: [targetsFile] }],
  });
  started.push(() => prometheus.stop());
  return prometheus;
}
