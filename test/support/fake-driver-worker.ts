/**
 * A worker for CLI integration tests: the real workflow bundle and the real
 * activities (delivery, hooks, …) over fake drivers, on its own task queue
 * of the suite's Temporal dev server, with the environment the activities
 * resolve `${env:NAME}` from.
 */
import { bundleWorkflowCode, NativeConnection, Worker } from "@temporalio/worker";
import { inject } from "vitest";
import { createActivities } from "../../activities";
import { devDataConverter } from "../../lib/codec/data-converter";
import { WORKFLOWS_PATH } from "../../workers/workflow-bundle";
import { createFakes } from "./fakes";

export interface FakeDriverWorker {
  stop(): Promise<void>;
}

export async function startFakeDriverWorker(
  taskQueue: string,
  env: Record<string, string>,
): Promise<FakeDriverWorker> {
  const connection = await NativeConnection.connect({ address: inject("temporalAddress") });
  const fakes = createFakes({ blueVersion: "v1" });
  fakes.deps.env = env;
  const worker = await Worker.create({
    dataConverter: devDataConverter(),
    connection,
    taskQueue,
    workflowBundle: await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: undefined }),
    activities: createActivities(fakes.deps),
  });
  const running = worker.run();
  return {
    async stop() {
      worker.shutdown();
      await running;
      await connection.close();
    },
  };
}
