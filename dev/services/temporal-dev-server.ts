import path from "node:path";
import { Connection } from "@temporalio/client";
import { DEFAULT_NAMESPACE, SEARCH_ATTRIBUTE_NAMES } from "../../lib/names";
import { freePort } from "../../lib/runtime/free-port";
import { type DetachedProcess, spawnDetached, stopGroup, tailLog } from "../../lib/runtime/process-group";

export interface TemporalDevServerOptions {
  cliPath: string;
  /** SQLite file for durable state; omit for in-memory. */
  dbFile?: string;
  port?: number;
  /** Web UI port; null runs headless (tests). */
  uiPort?: number | null;
  logFile: string;
  namespace?: string;
  /** Codec server the Web UI decrypts payloads through (`shipshape codec-server`). */
  uiCodecEndpoint?: string;
}

export interface TemporalDevServer {
  address: string;
  port: number;
  uiUrl?: string;
  namespace: string;
  process: DetachedProcess;
  stop(): Promise<void>;
  /** Stops, stays down `downtimeMs`, starts again on the same port and SQLite file (chaos: server restart). */
  restart(downtimeMs?: number): Promise<void>;
}

/** Polls the frontend until it answers a real RPC (a listening port is not enough). */
export async function waitForTemporal(
  address: string,
  timeoutMs: number,
  proc?: DetachedProcess,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (proc && proc.child.exitCode !== null) break;
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await connection.workflowService.getSystemInfo({});
        return;
      } finally {
        await connection.close();
      }
    } catch (err) {
      lastError = err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  const logTail = proc ? `\n--- ${proc.logFile} ---\n${tailLog(proc.logFile)}` : "";
  throw new Error(
    `Temporal at ${address} did not become ready in ${timeoutMs} ms: ${String(lastError)}${logTail}`,
  );
}

/**
 * `temporal server start-dev` with the project's search attributes registered
 * at start (the flag is idempotent across restarts on the same SQLite file).
 */
export async function startTemporalDevServer(options: TemporalDevServerOptions): Promise<TemporalDevServer> {
  const port = options.port ?? (await freePort());
  const namespace = options.namespace ?? DEFAULT_NAMESPACE;
  const uiPort = options.uiPort === undefined ? await freePort() : options.uiPort;
  // start-dev also opens an HTTP API on port+1000 by default; each launch
  // picks a free one so parallel servers (tests, dev stack) never collide and
  // a restart never waits on the port its previous life held (only the gRPC
  // port must stay the same for clients and workers).
  const argsFor = (httpPort: number) => [
    "server",
    "start-dev",
    "--ip",
    "127.0.0.1",
    "--port",
    String(port),
    "--namespace",
    namespace,
    "--http-port",
    String(httpPort),
    "--log-level",
    "warn",
    ...(options.dbFile ? ["--db-filename", options.dbFile] : []),
    ...(uiPort === null ? ["--headless"] : ["--ui-port", String(uiPort), "--ui-ip", "127.0.0.1"]),
    ...(options.uiCodecEndpoint && uiPort !== null ? ["--ui-codec-endpoint", options.uiCodecEndpoint] : []),
    ...SEARCH_ATTRIBUTE_NAMES.flatMap((name) => ["--search-attribute", `${name}=Keyword`]),
  ];
  const address = `127.0.0.1:${port}`;
  const launch = async () => {
    const proc = spawnDetached(options.cliPath, argsFor(await freePort()), {
      logFile: options.logFile,
      cwd: path.dirname(options.logFile),
    });
    await waitForTemporal(address, 60_000, proc);
    return proc;
  };
  const server: TemporalDevServer = {
    address,
    port,
    namespace,
    uiUrl: uiPort === null ? undefined : `http://127.0.0.1:${uiPort}`,
    process: await launch(),
    async stop() {
      await stopGroup(server.process);
    },
    async restart(downtimeMs = 0) {
      await stopGroup(server.process);
      if (downtimeMs > 0) await new Promise((r) => setTimeout(r, downtimeMs));
      server.process = await launch();
    },
  };
  return server;
}
