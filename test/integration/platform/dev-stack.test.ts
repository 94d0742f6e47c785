import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { Client, Connection } from "@temporalio/client";
import { expect, inject, it } from "vitest";
import { TASK_QUEUE } from "../../../lib/names";
import { staleness } from "../../../lib/runtime/build-stamp";
import { freePort, portIsFree } from "../../../lib/runtime/free-port";
import { PROJECT_ROOT } from "../../../lib/runtime/paths";
import { isAlive } from "../../../lib/runtime/process-group";
import { skeletonDeploymentWorkflow } from "../../../workflows";

/**
 * `npm run dev` as a person uses it: start, run a deployment, see it in the
 * Web UI with its search attributes, Ctrl-C, and nothing is left running.
 */
it("npm run dev starts the stack, serves the Web UI, and Ctrl-C stops everything", async () => {
  const temporalPort = await freePort();
  const uiPort = await freePort();
  const stateDir = path.join(inject("testStateDir"), "dev-stack");
  const dev = spawn(path.join(PROJECT_ROOT, "node_modules", ".bin", "tsx"), ["scripts/dev.ts"], {
    cwd: PROJECT_ROOT,
    env: {
      ...process.env,
      SHIPSHAPE_TEMPORAL_PORT: String(temporalPort),
      SHIPSHAPE_UI_PORT: String(uiPort),
      SHIPSHAPE_STATE_DIR: stateDir,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  dev.stdout.on("data", (d) => {
    output += String(d);
  });
  dev.stderr.on("data", (d) => {
    output += String(d);
  });
  const exited = new Promise<number | null>((resolve) => dev.once("exit", (code) => resolve(code)));

  const deadline = Date.now() + 120_000;
  while (!output.includes("Press Ctrl-C")) {
    if (dev.exitCode !== null || Date.now() > deadline)
      throw new Error(`dev stack did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  expect(output).toContain(`Web UI       http://127.0.0.1:${uiPort}`);
  const pgPort = Number(/Database\s+postgres:\/\/postgres@127\.0\.0\.1:(\d+)\//.exec(output)?.[1]);
  expect(pgPort).toBeGreaterThan(0);

  const connection = await Connection.connect({ address: `127.0.0.1:${temporalPort}` });
  const client = new Client({ connection });
  try {
    const workflowId = `dev-stack-${Date.now()}`;
    const result = await client.workflow.execute(skeletonDeploymentWorkflow, {
      workflowId,
      taskQueue: TASK_QUEUE,
      args: [
        { deploymentId: workflowId, service: "shop", environment: "dev", version: "v1", requestedBy: "test" },
      ],
    });
    expect(result.outcome).toBe("promoted");

    // Visible by its search attributes (visibility is eventually consistent).
    let found: string[] = [];
    for (let i = 0; i < 50 && found.length === 0; i++) {
      found = [];
      for await (const wf of client.workflow.list({
        query: `ShipshapeService = 'shop' AND ShipshapeEnvironment = 'dev' AND ShipshapeOutcome = 'promoted'`,
      })) {
        found.push(wf.workflowId);
      }
      if (found.length === 0) await new Promise((r) => setTimeout(r, 200));
    }
    expect(found).toContain(workflowId);

    const ui = await fetch(`http://127.0.0.1:${uiPort}/`);
    expect(ui.status).toBe(200);
  } finally {
    await connection.close();
  }

  // The worker runs as built (dist/workers/main.js) with the prebuilt workflow bundle while
  // they are current (pretest builds them), else from the sources — never stale code; its log says which.
  const workerLog = fs.readFileSync(path.join(stateDir, "dev", "worker.log"), "utf8");
  expect(workerLog).toContain(
    staleness(PROJECT_ROOT, "compiled") === null ? ": dist/workers/main.js; " : ": workers/main.ts; ",
  );
  expect(workerLog).toContain(
    staleness(PROJECT_ROOT, "workflowBundle") === null
      ? `workflow code from ${path.join(PROJECT_ROOT, "dist", "workflow-bundle.js")} (current build of the sources)`
      : "workflow code bundled from the sources (dist/workflow-bundle.js cannot be used: ",
  );

  dev.kill("SIGINT");
  expect(await exited).toBe(0);
  expect(output).toContain("nothing left running");
  for (const port of [temporalPort, uiPort, pgPort]) expect(await portIsFree(port)).toBe(true);
  expect(isAlive(dev.pid!)).toBe(false);
});
