/**
 * The local platform for development (`npm run dev`, `npx shipshape dev`),
 * run in a project's root: Temporal dev server with a persistent SQLite file
 * and the Web UI (payloads decrypted through a codec server), the Shipshape
 * search attributes, a private PostgreSQL cluster, a Prometheus scraping every
 * local instance, and one `shipshape worker`. What a client needs to reach it
 * is written to `<root>/.shipshape/dev/stack.json` (and removed on stop); the
 * worker's DATABASE_URL is the stack's database, so a release config may say
 * `${env:DATABASE_URL}`. Ctrl-C stops everything it started.
 *
 * Ports: SHIPSHAPE_TEMPORAL_PORT (7233), SHIPSHAPE_UI_PORT (8233), SHIPSHAPE_CODEC_PORT (8234).
 */
import fs from "node:fs";
import path from "node:path";
import { PROJECT_ROOT } from "../../lib/runtime/paths";
import { ensureLocalSigning, type LocalSigning } from "../signing";
import { type LocalStack, startLocalStack } from "./local-stack";

/** `<root>/.shipshape/dev/stack.json`: how to reach the running dev stack. */
export interface DevStackInfo {
  temporalAddress: string;
  namespace: string;
  webUi: string | null;
  databaseUrl: string;
  taskQueue: string;
  stateDir: string;
  worker: { pid: number; logFile: string } | null;
  /** The `npm run dev` process: stopping it (SIGINT/SIGTERM) stops the stack. */
  pid: number;
  startedAt: string;
}

export function devStackDir(root: string): string {
  return path.join(root, ".shipshape", "dev");
}

export function devStackFile(root: string): string {
  return path.join(devStackDir(root), "stack.json");
}

function writeInfo(file: string, stack: LocalStack): DevStackInfo {
  const info: DevStackInfo = {
    temporalAddress: stack.temporal.address,
    namespace: stack.temporal.namespace,
    webUi: stack.temporal.uiUrl ?? null,
    databaseUrl: stack.databaseUrl,
    taskQueue: stack.taskQueue,
    stateDir: stack.stateDir,
    worker: stack.worker ? { pid: stack.worker.pid, logFile: path.join(stack.stateDir, "worker.log") } : null,
    pid: process.pid,
    startedAt: new Date().toISOString(),
  };
  fs.writeFileSync(`${file}.tmp`, `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
  fs.renameSync(`${file}.tmp`, file);
  return info;
}

/** Starts the stack under `root` and keeps it up until SIGINT/SIGTERM, which stop everything and exit the process. */
export async function runDevStack(options: { root: string }): Promise<void> {
  const temporalPort = Number(process.env.SHIPSHAPE_TEMPORAL_PORT ?? 7233);
  const uiPort = Number(process.env.SHIPSHAPE_UI_PORT ?? 8233);
  const dir = devStackDir(options.root);
  const file = devStackFile(options.root);
  // In Shipshape's own checkout, the sample shop's production is signed locally:
  // a key per approver, the worker pins them. Another project signs its own.
  const signing =
    path.resolve(options.root) === PROJECT_ROOT
      ? await ensureLocalSigning(
          path.join(dir, "signing"),
          path.join(PROJECT_ROOT, "examples", "shop", "shipshape.yaml"),
          "production",
        )
      : null;
  const codecPort = Number(process.env.SHIPSHAPE_CODEC_PORT ?? 8234);
  const stack = await startLocalStack({
    dir,
    ...(signing ? { policyDir: signing.policyDir } : {}),
    temporalPort,
    uiPort,
    codecPort,
    persistent: true,
    withWorker: true,
    prometheus: true,
    log: (line) => console.log(`  ${line}`),
  });
  const info = writeInfo(file, stack);
  console.log(`
shipshape dev stack is up
  Temporal     ${info.temporalAddress}  (namespace ${info.namespace})
  Web UI       ${info.webUi}  (payloads decrypted through the codec server)
  Codec server ${stack.codecServer?.url}  (temporal … --codec-endpoint ${stack.codecServer?.url} --codec-auth "Bearer $(cat ${stack.codecServer?.tokenFile})")
  Payload keys ${process.env.SHIPSHAPE_CODEC_KEYS}
  Database     ${info.databaseUrl}   (the worker's DATABASE_URL)
  Prometheus   ${stack.prometheus?.url} (scrapes every instance the local target runs; the worker's PROMETHEUS_URL)
  Worker       task queue ${info.taskQueue}, log ${info.worker?.logFile}
  State        ${info.stateDir}
  Stack file   ${file}
${signing ? signingLines(signing) : ""}Press Ctrl-C to stop everything.`);
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping worker, Temporal and PostgreSQL…`);
    fs.rmSync(file, { force: true });
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

function signingLines(signing: LocalSigning): string {
  const keys = Object.values(signing.keys);
  return `  Signing      worker policy ${signing.policyDir}; keys ${keys.join(", ")}
               deploy shop/production signed: shipshape deploy --config ${signing.configPath} --key ${keys[0]} --artifact ${path.join(PROJECT_ROOT, "examples", "shop")} …
               approve as another approver:   shipshape approve shop/production --key ${keys[1] ?? "<key>"}
`;
}
