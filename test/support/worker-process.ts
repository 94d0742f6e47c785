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
  stateDir: string;
  workflowBundle?: string;
  logFile: string;
  /** Extra environment of the worker (e.g. AWS_ENDPOINT_URL for moto); no per-service variables. */
  env?: Record<string, string>;
  /** Extra `shipshape worker` flags. */
  args?: string[];
  identity?: string;
}

/**
 * Runs `shipshape worker --dev` (bin/shipshape.cjs) as a separate process
 * group — the way production runs it — so a test can SIGKILL the worker and
 * everything it spawned (pulumi, dynamic-provider plugins) in one blow.
 */
export async function startWorkerProcess(options: WorkerProcessOptions): Promise<DetachedProcess> {
  fs.mkdirSync(path.dirname(options.logFile), { recursive: true });
  const before = fs.existsSync(options.logFile) ? fs.statSync(options.logFile).size : 0;
  const args = [
    path.join(PROJECT_ROOT, "bin", "shipshape.cjs"),
    "worker",
    "--dev",
    "--state-dir",
    options.stateDir,
    "--task-queue",
    options.taskQueue,
    ...(options.workflowBundle ? ["--workflow-bundle", options.workflowBundle] : []),
    ...(options.identity ? ["--identity", options.identity] : []),
    ...(options.args ?? []),
  ];
  const proc = spawnDetached(process.execPath, args, {
    logFile: options.logFile,
    cwd: PROJECT_ROOT,
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: options.temporalAddress,
      SHIPSHAPE_CODEC_KEYS: useDevCodecKeys(),
      ...options.env,
    },
  });
  const deadline = Date.now() + 90_000;
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
