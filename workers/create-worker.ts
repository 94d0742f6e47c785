import { NativeConnection, Worker } from "@temporalio/worker";
import type { Activities } from "../activities";
import { TASK_QUEUE } from "../lib/names";
import type { TemporalTarget } from "./connection";
import { WORKFLOWS_PATH } from "./workflow-bundle";

export interface DeploymentWorkerOptions {
  target: TemporalTarget;
  activities: Activities;
  taskQueue?: string;
  /** Pre-built bundle (see chooseWorkflowCode); otherwise the sources are bundled at start. */
  workflowBundlePath?: string;
  identity?: string;
}

/** A worker for the deployment task queue with the given activity implementations. */
export async function createDeploymentWorker(
  options: DeploymentWorkerOptions,
): Promise<{ worker: Worker; connection: NativeConnection }> {
  const connection = await NativeConnection.connect(options.target.connectionOptions);
  const worker = await Worker.create({
    connection,
    namespace: options.target.namespace,
    taskQueue: options.taskQueue ?? TASK_QUEUE,
    activities: options.activities,
    identity: options.identity,
    ...(options.workflowBundlePath
      ? { workflowBundle: { codePath: options.workflowBundlePath } }
      : { workflowsPath: WORKFLOWS_PATH }),
    // Compensations may be mid-flight when we are asked to stop: give
    // activities time to finish before the worker exits.
    shutdownGraceTime: "30 seconds",
  });
  return { worker, connection };
}
