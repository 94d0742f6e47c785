import fs from "node:fs";
import path from "node:path";
import { useDevCodecKeys } from "../../lib/codec/data-converter";
import { PROJECT_ROOT } from "../../lib/runtime/paths";
import {
  type DetachedProcess,
  signalGroup,
  spawnDetached,
  stopGroup,
  tailLog,
} from "../../lib/runtime/process-group";

export interface WorkerProcessOptions {
  temporalAddress: string;
  taskQueue: string;
  databaseUrl: string;
  stateDir: string;
  workflowBundle: string;
  logFile: string;
}

/**
 * Runs `workers/main.ts` as a separate process group — the way production runs
 * it — so a test can SIGKILL the worker and everything it spawned (pulumi,
 * dynamic-provider plugins) in one blow.
 */
export async function startWorkerProcess(options: WorkerProcessOptions): Promise<DetachedProcess> {
  const tsx = path.join(PROJECT_ROOT, "node_modules", ".bin", "tsx");
  fs.mkdirSync(path.dirname(options.logFile), { recursive: true });
  const before = fs.existsSync(options.logFile) ? fs.statSync(options.logFile).size : 0;
  const proc = spawnDetached(tsx, [path.join(PROJECT_ROOT, "workers", "main.ts")], {
    logFile: options.logFile,
    cwd: PROJECT_ROOT,
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: options.temporalAddress,
      SHIPSHAPE_TASK_QUEUE: options.taskQueue,
      DATABASE_URL: options.databaseUrl,
      SHIPSHAPE_STATE_DIR: options.stateDir,
      SHIPSHAPE_WORKFLOW_BUNDLE: options.workflowBundle,
      SHIPSHAPE_CODEC_KEYS: useDevCodecKeys(),
    },
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    const log = fs.readFileSync(options.logFile, "utf8").slice(before);
    if (log.includes(`: polling ${options.taskQueue} `)) return proc;
    if (proc.child.exitCode !== null || Date.now() > deadline) {
      throw new Error(`worker did not start:\n${tailLog(options.logFile)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function killWorker(proc: DetachedProcess): Promise<number | null> {
  signalGroup(proc.pid, "SIGKILL");
  return proc.exited;
}

export { stopGroup };
