/**
 * The local platform for development (`npm run dev`): Temporal dev server with
 * a persistent SQLite file and the Web UI, the Shipshape search attributes, a
 * private PostgreSQL cluster, a Prometheus scraping every local instance, and
 * a worker. Ctrl-C stops everything it started.
 *
 * Ports: SHIPSHAPE_TEMPORAL_PORT (7233), SHIPSHAPE_UI_PORT (8233), SHIPSHAPE_CODEC_PORT (8234).
 */
import path from "node:path";
import { PROJECT_ROOT, stateDir } from "../../lib/runtime/paths";
import { ensureLocalSigning } from "../signing";
import { startLocalStack } from "./local-stack";

/** Starts the stack and keeps it up until SIGINT/SIGTERM, which stop everything and exit the process. */
export async function runDevStack(): Promise<void> {
  const temporalPort = Number(process.env.SHIPSHAPE_TEMPORAL_PORT ?? 7233);
  const uiPort = Number(process.env.SHIPSHAPE_UI_PORT ?? 8233);
  const dir = path.join(stateDir(), "dev");
  // The sample shop's production signed locally: a key per approver, the worker pins them.
  const signing = await ensureLocalSigning(
    path.join(dir, "signing"),
    path.join(PROJECT_ROOT, "examples", "shop", "shipshape.yaml"),
    "production",
  );
  const codecPort = Number(process.env.SHIPSHAPE_CODEC_PORT ?? 8234);
  const stack = await startLocalStack({
    dir,
    policyDir: signing.policyDir,
    temporalPort,
    uiPort,
    codecPort,
    persistent: true,
    withWorker: true,
    prometheus: true,
    log: (line) => console.log(`  ${line}`),
  });
  console.log(`
shipshape dev stack is up
  Temporal     ${stack.temporal.address}  (namespace ${stack.temporal.namespace})
  Web UI       ${stack.temporal.uiUrl}  (payloads decrypted through the codec server)
  Codec server ${stack.codecServer?.url}  (temporal … --codec-endpoint ${stack.codecServer?.url} --codec-auth "Bearer $(cat ${stack.codecServer?.tokenFile})")
  Payload keys ${process.env.SHIPSHAPE_CODEC_KEYS}
  Database     ${stack.databaseUrl}
  Prometheus   ${stack.prometheus?.url} (scrapes every instance the local target runs; the worker's PROMETHEUS_URL)
  Worker       task queue ${stack.taskQueue}, log ${path.join(stack.stateDir, "worker.log")}
  State        ${stack.stateDir}
  Signing      worker policy ${signing.policyDir}; keys ${Object.values(signing.keys).join(", ")}
               deploy shop/production signed: shipshape deploy --config ${signing.configPath} --key ${Object.values(signing.keys)[0]} …
               approve as another approver:   shipshape approve shop/production --key ${Object.values(signing.keys)[1] ?? "<key>"}
Press Ctrl-C to stop everything.`);
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping worker, Temporal and PostgreSQL…`);
    await stack.stop();
    console.log("stopped; nothing left running.");
    process.exit(0);
  };
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  // If the worker dies on its own, say so instead of sitting there silently.
  stack.worker?.exited.then((code) => {
    if (!stopping) console.error(`worker exited unexpectedly (code ${code}); see ${stack.worker?.logFile}`);
  });
}
