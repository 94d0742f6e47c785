import fs from "node:fs";
import path from "node:path";
import { Client, Connection, WorkflowFailedError } from "@temporalio/client";
import { afterAll, describe, expect, inject, it } from "vitest";
import { startTemporalDevServer, type TemporalDevServer } from "../../../dev/services/temporal-dev-server";
import { devDataConverter } from "../../../lib/codec/data-converter";
import { freePort } from "../../../lib/runtime/free-port";
import type { DetachedProcess } from "../../../lib/runtime/process-group";
import { readManifest } from "../../../lib/runtime/toolchain-manifest";
import { writeWorkflowBundle } from "../../../workers/workflow-bundle";
import { startWorkerProcess, stopGroup } from "../../support/worker-process";

/**
 * `shipshape worker` started while its Temporal server is down (a worker
 * restarted by its supervisor in the middle of a server restart) waits for
 * the server instead of exiting, and serves once it is there.
 */
const dir = path.join(inject("testStateDir"), "worker-late-temporal");
let temporal: TemporalDevServer | undefined;
let worker: DetachedProcess | undefined;
let connection: Connection | undefined;

afterAll(async () => {
  if (worker) await stopGroup(worker, 5000);
  await connection?.close().catch(() => undefined);
  await temporal?.stop();
});

describe("shipshape worker while Temporal is unreachable", () => {
  it("started before its server: connects once the server is up, then runs workflow tasks", {
    timeout: 180_000,
  }, async () => {
    fs.mkdirSync(dir, { recursive: true });
    const port = await freePort();
    const logFile = path.join(dir, "worker.log");
    const starting = startWorkerProcess({
      temporalAddress: `127.0.0.1:${port}`,
      taskQueue: "late-temporal",
      stateDir: dir,
      workflowBundle: await writeWorkflowBundle(path.join(dir, "workflow-bundle.js")),
      logFile,
    });
    let gone = false;
    starting.catch(() => {
      gone = true; // the worker exited: `await starting` below says how
    });
    // Nothing listens yet: the worker tries, and must still be there when the server comes.
    const deadline = Date.now() + 60_000;
    while (!/Temporal unreachable/.test(fs.existsSync(logFile) ? fs.readFileSync(logFile, "utf8") : "")) {
      if (gone) await starting;
      if (Date.now() > deadline)
        throw new Error(`the worker never tried to connect:\n${fs.readFileSync(logFile, "utf8")}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    temporal = await startTemporalDevServer({
      cliPath: readManifest().temporal.path,
      port,
      logFile: path.join(dir, "temporal.log"),
      uiPort: null,
    });
    worker = await starting; // throws "worker did not start" when the worker exited
    expect(worker.child.exitCode).toBeNull();

    // It serves: a deployment with an invalid input is refused by the workflow code this worker runs.
    connection = await Connection.connect({ address: temporal.address });
    const client = new Client({ connection, dataConverter: devDataConverter() });
    const run = client.workflow.execute("deploymentWorkflow", {
      taskQueue: "late-temporal",
      workflowId: "late-temporal-invalid-input",
      args: [{ not: "a deployment input" }],
    });
    await expect(run).rejects.toBeInstanceOf(WorkflowFailedError);
    expect(worker.child.exitCode).toBeNull();
  });
});
