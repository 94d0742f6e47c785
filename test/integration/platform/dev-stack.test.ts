import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { Client, Connection } from "@temporalio/client";
import { Client as PgClient } from "pg";
import { expect, inject, it } from "vitest";
import type { DevStackInfo } from "../../../dev/stack/dev-stack";
import { devDataConverter } from "../../../lib/codec/data-converter";
import { staleness } from "../../../lib/runtime/build-stamp";
import { freePort, portIsFree } from "../../../lib/runtime/free-port";
import { PROJECT_ROOT } from "../../../lib/runtime/paths";
import { isAlive } from "../../../lib/runtime/process-group";

/**
 * `npx shipshape dev` as a person uses it, in their project's root: the stack
 * starts, `.shipshape/dev/stack.json` says where Temporal, the Web UI and the
 * database are, the worker polls with DATABASE_URL set to that database,
 * Ctrl-C stops everything and removes the stack file.
 */
it("shipshape dev writes stack.json, runs a worker with DATABASE_URL, and Ctrl-C stops everything", async () => {
  const temporalPort = await freePort();
  const uiPort = await freePort();
  const codecPort = await freePort();
  const root = path.join(inject("testStateDir"), "dev-stack", "my-project");
  fs.mkdirSync(root, { recursive: true });
  const dev = spawn(process.execPath, [path.join(PROJECT_ROOT, "bin", "shipshape.cjs"), "dev"], {
    cwd: root,
    env: {
      ...process.env,
      SHIPSHAPE_TEMPORAL_PORT: String(temporalPort),
      SHIPSHAPE_UI_PORT: String(uiPort),
      SHIPSHAPE_CODEC_PORT: String(codecPort),
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

  const deadline = Date.now() + 150_000;
  while (!output.includes("Press Ctrl-C")) {
    if (dev.exitCode !== null || Date.now() > deadline)
      throw new Error(`dev stack did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const file = path.join(root, ".shipshape", "dev", "stack.json");
  const info = JSON.parse(fs.readFileSync(file, "utf8")) as DevStackInfo;
  expect(info.temporalAddress).toBe(`127.0.0.1:${temporalPort}`);
  expect(info.webUi).toBe(`http://127.0.0.1:${uiPort}`);
  expect(info.databaseUrl).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\//);
  expect(info.stateDir).toBe(path.join(root, ".shipshape", "dev"));
  const pgPort = Number(new URL(info.databaseUrl).port);
  // Another project than Shipshape's own checkout: the sample shop's local signing keys are not
  // made there (that project signs its own environments), so the worker pins no policy.
  expect(fs.existsSync(path.join(root, ".shipshape", "dev", "signing"))).toBe(false);
  expect(output).not.toContain("Signing      worker policy");

  // The worker is `shipshape worker`, polling, with DATABASE_URL = the stack's database and nothing per service.
  const workerPid = info.worker?.pid ?? 0;
  expect(isAlive(workerPid)).toBe(true);
  const environ = fs.readFileSync(`/proc/${workerPid}/environ`, "latin1").split("\0");
  expect(environ).toContain(`DATABASE_URL=${info.databaseUrl}`);
  expect(environ.some((e) => e.startsWith("SHIPSHAPE_MIGRATIONS_DIR="))).toBe(false);
  expect(fs.readFileSync(`/proc/${workerPid}/cmdline`, "latin1").split("\0")).toContain("worker");
  expect(fs.readFileSync(info.worker?.logFile ?? "", "utf8")).toContain(`: polling ${info.taskQueue} `);
  const pg = new PgClient({ connectionString: info.databaseUrl });
  await pg.connect();
  expect((await pg.query("SELECT 1 AS one")).rows[0]?.one).toBe(1);
  await pg.end();

  const connection = await Connection.connect({ address: info.temporalAddress });
  const client = new Client({ connection, namespace: info.namespace, dataConverter: devDataConverter() });
  try {
    // The search attributes are registered: a query by them is accepted.
    const found: string[] = [];
    for await (const wf of client.workflow.list({ query: "ShipshapeService = 'nothing-yet'" }))
      found.push(wf.workflowId);
    expect(found).toEqual([]);
    const ui = await fetch(info.webUi ?? "");
    expect(ui.status).toBe(200);
  } finally {
    await connection.close();
  }

  // The worker runs as built (dist/workers/run.js, through the bin) with the prebuilt workflow bundle
  // while they are current (pretest builds them), else from the sources — never stale code; its log says which.
  const workerLog = fs.readFileSync(info.worker?.logFile ?? "", "utf8");
  expect(workerLog).toContain(
    staleness(PROJECT_ROOT, "compiled") === null ? ": dist/workers/run.js; " : ": workers/run.ts; ",
  );
  expect(workerLog).not.toContain("signing policy ");
  expect(workerLog).toContain(
    staleness(PROJECT_ROOT, "workflowBundle") === null
      ? `workflow code from ${path.join(PROJECT_ROOT, "dist", "workflow-bundle.js")} (current build of the sources)`
      : "workflow code bundled from the sources (dist/workflow-bundle.js cannot be used: ",
  );

  dev.kill("SIGINT");
  expect(await exited).toBe(0);
  expect(output).toContain("nothing left running");
  expect(fs.existsSync(file)).toBe(false);
  for (const port of [temporalPort, uiPort, pgPort]) expect(await portIsFree(port)).toBe(true);
  expect(isAlive(dev.pid!)).toBe(false);
  expect(isAlive(workerPid)).toBe(false);
}, 240_000);
