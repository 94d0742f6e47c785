import { NativeConnection, Worker } from "@temporalio/worker";
import type { Activities } from "../activities";
import { createDataConverter } from "../lib/codec/data-converter";
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
  // First: a missing payload key is a configuration error, reported before any connection.
  const dataConverter = createDataConverter();
  const connection = await NativeConnection.connect(options.target.connectionOptions);
  const worker = await Worker.create({
    connection,
    namespace: options.target.namespace,
    taskQueue: options.taskQueue ?? TASK_QUEUE,
    activities: options.activities,
    identity: options.identity,
    dataConverter,
    ...(options.workflowBundlePath
      ? { workflowBundle: { codePath: options.workflowBundlePath } }
      : { workflowsPath: WORKFLOWS_PATH }),
    // Compensations may be mid-flight when we are asked to stop: give
    // activities time to finish before the worker exits.
    shutdownGraceTime: "30 seconds",
    // A killed worker must cost seconds, not tens of seconds:
    // - its sticky queue holds the next workflow task of every run it had
    //   cached until this timeout sends the task to the normal queue (default
    //   10 s); a compensation retried by the workflow after its worker died
    //   waits this out, so it is short (a live but slow worker merely loses
    //   its cache and replays);
    // - heartbeats go out as the activity beats (every 1 s) instead of being
    //   throttled to 80% of the heartbeat timeout, so that timeout can be short.
    stickyQueueScheduleToStartTimeout: "1 second",
    maxHeartbeatThrottleInterval: "1 second",
  });
  return { worker, connection };
}
