/**
 * The local platform for development (`npm run dev`, `npx shipshape dev`),
 * run in a project's root: Temporal dev server with a persistent SQLite file
 * and the Web UI, the Shipshape search attributes, a private PostgreSQL
 * cluster and one `shipshape worker`. What a client needs to reach it is
 * written to `<root>/.shipshape/dev/stack.json` (and removed on stop); the
 * worker's DATABASE_URL is the stack's database, so a release config may say
 * `${env:DATABASE_URL}`. Ctrl-C stops everything it started.
 *
 * Ports: SHIPSHAPE_TEMPORAL_PORT (7233), SHIPSHAPE_UI_PORT (8233).
 */
import fs from "node:fs";
import path from "node:path";
import { PROJECT_ROOT } from "../../lib/runtime/paths";
import { ensureLocalSigning } from "../signing";
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
  // The sample shop's production signed locally: a key per approver, the worker pins them.
  const signing = await ensureLocalSigning(
    path.join(dir, "signing"),
    path.join(PROJECT_ROOT, "examples", "shop", "shipshape.yaml"),
    "production",
  );
  const stack = await startLocalStack({
    dir,
    policyDir: signing.policyDir,
    temporalPort,
    uiPort,
    persistent: true,
    withWorker: true,
    log: (line) => console.log(`  ${line}`),
  });
  const info = writeInfo(file, stack);
  console.log(`
shipshape dev stack is up
  Temporal     ${info.temporalAddress}  (namespace ${info.namespace})
  Web UI       ${info.webUi}
  Database     ${info.databaseUrl}   (the worker's DATABASE_URL)
  Worker       task queue ${info.taskQueue}, log ${info.worker?.logFile}
  State        ${info.stateDir}
  Stack file   ${file}
  Signing      worker policy ${signing.policyDir}; keys ${Object.values(signing.keys).join(", ")}
               deploy shop/production signed: shipshape deploy --config ${signing.configPath} --key ${Object.values(signing.keys)[0]} --artifact ${path.join(PROJECT_ROOT, "examples", "shop")} …
               approve as another approver:   shipshape approve shop/production --key ${Object.values(signing.keys)[1] ?? "<key>"}
Press Ctrl-C to stop everything.`);
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
