/**
 * `npm run demo -- --skeleton` — the walking skeleton.
 *
 * It runs the WALKING SKELETON end to end and says so: it
 * starts the embedded stack (Temporal dev server + Web UI, PostgreSQL, worker),
 * runs one deployment that succeeds and one that fails after the database
 * step and must roll back, checks that each behaved as narrated, prints a
 * summary and stops everything (unless --keep). Exit 1 if anything did not
 * behave as narrated.
 */
import fs from "node:fs";
import path from "node:path";
import { Client, Connection } from "@temporalio/client";
import { Pool } from "pg";
import { startLocalStack } from "../../dev/stack/local-stack";
import { stackExists } from "../../infra/pulumi/workspace";
import { skeletonMarkerFile } from "../../infra/skeleton/driver";
import { SKELETON_PROJECT } from "../../infra/skeleton/program";
import { devDataConverter } from "../../lib/codec/data-converter";
import { stackNameFor } from "../../lib/deployment/skeleton-types";
import { freePort, portIsFree } from "../../lib/runtime/free-port";
import { stateDir } from "../../lib/runtime/paths";
import { formatTable } from "../../lib/text-table";
import { skeletonDeploymentWorkflow } from "../../workflows";
import { waitForCtrlC } from "./keep";

interface Row {
  deployment: string;
  expected: string;
  outcome: string;
  seconds: string;
  ok: boolean;
}

interface SkeletonScenario {
  version: string;
  fail: boolean;
  expected: "promoted" | "rolled-back";
  story: string;
}

const SCENARIOS: SkeletonScenario[] = [
  {
    version: "v1",
    fail: false,
    expected: "promoted",
    story: "provision green with Pulumi, record in PostgreSQL",
  },
  {
    version: "v2",
    fail: true,
    expected: "rolled-back",
    story: "fails after the database step → compensations run in reverse",
  },
];

interface Platform {
  client: Client;
  pool: Pool;
  taskQueue: string;
  uiUrl: string;
}

/** One skeleton deployment and the facts it must leave (a Pulumi stack and a record, or neither). */
async function runScenario(p: Platform, s: SkeletonScenario): Promise<Row> {
  const ref = {
    deploymentId: `demo-${s.version}-${Date.now()}`,
    service: "shop",
    environment: "demo",
    version: s.version,
  };
  console.log(`\n▶ deploy shop ${s.version}: ${s.story}`);
  const t0 = Date.now();
  const handle = await p.client.workflow.start(skeletonDeploymentWorkflow, {
    workflowId: `shipshape-demo-${ref.deploymentId}`,
    taskQueue: p.taskQueue,
    args: [{ ...ref, requestedBy: "demo", failAfterDatabase: s.fail }],
  });
  console.log(
    `  workflow ${handle.workflowId} — ${p.uiUrl}/namespaces/default/workflows/${handle.workflowId}`,
  );
  const result = await handle.result();
  const seconds = ((Date.now() - t0) / 1000).toFixed(1);
  const stackName = stackNameFor(ref);
  const rowsInDb = (
    await p.pool.query(
      "SELECT count(*)::int AS n FROM shipshape_skeleton_deployments WHERE deployment_id = $1",
      [ref.deploymentId],
    )
  ).rows[0].n as number;
  const stackLeft = await stackExists(SKELETON_PROJECT, stackName);
  const markerLeft = fs.existsSync(skeletonMarkerFile(stackName));
  let ok = result.outcome === s.expected;
  if (s.expected === "promoted") {
    ok &&= rowsInDb === 1 && stackLeft && markerLeft;
    console.log(
      `  ✓ outcome ${result.outcome}; Pulumi stack ${stackName} up; deployment recorded in PostgreSQL`,
    );
  } else {
    ok &&= rowsInDb === 0 && !stackLeft && !markerLeft;
    console.log(
      `  ✓ outcome ${result.outcome} (${result.reason}); compensations: ${result.compensations.join(" → ")}`,
    );
    console.log(
      `    nothing left: stack ${stackLeft ? "STILL THERE" : "removed"}, record ${rowsInDb ? "STILL THERE" : "removed"}`,
    );
  }
  if (!ok) console.log("  ✗ did not behave as narrated");
  return { deployment: `shop ${s.version}`, expected: s.expected, outcome: result.outcome, seconds, ok };
}

export async function runSkeletonDemo(keep: boolean): Promise<number> {
  const started = Date.now();
  console.log(
    "Shipshape demo — walking skeleton (`npm run demo` without --skeleton is the full release demo).",
  );
  const dir = path.join(stateDir(), "demo", `run-${Date.now()}`);
  process.env.SHIPSHAPE_STATE_DIR = dir; // this process inspects the same Pulumi backend as the worker
  const temporalPort = (await portIsFree(7233)) ? 7233 : await freePort();
  const uiPort = (await portIsFree(8233)) ? 8233 : await freePort();
  const stack = await startLocalStack({
    dir,
    temporalPort,
    uiPort,
    persistent: true,
    withWorker: true,
    log: (line) => console.log(`  · ${line}`),
  });
  const rows: Row[] = [];
  const connection = await Connection.connect({ address: stack.temporal.address });
  const client = new Client({
    connection,
    namespace: stack.temporal.namespace,
    dataConverter: devDataConverter(),
  });
  const pool = new Pool({ connectionString: stack.databaseUrl });
  try {
    const platform = { client, pool, taskQueue: stack.taskQueue, uiUrl: stack.temporal.uiUrl ?? "" };
    for (const s of SCENARIOS) rows.push(await runScenario(platform, s));
  } finally {
    await pool.end();
    await connection.close();
  }
  console.log("\nSummary");
  const columns = ["deployment", "expected", "outcome", "seconds", "as narrated"].map((header) => ({
    header,
  }));
  const body = rows.map((r) => [r.deployment, r.expected, r.outcome, r.seconds, r.ok ? "✓" : "✗"]);
  for (const line of formatTable(columns, body, { indent: "  ", rule: true })) console.log(line);
  console.log(`Web UI: ${stack.temporal.uiUrl}  (demo took ${((Date.now() - started) / 1000).toFixed(0)} s)`);
  const allOk = rows.every((r) => r.ok);
  if (keep) await waitForCtrlC();
  await stack.stop();
  console.log(allOk ? "demo finished: everything behaved as narrated." : "demo FAILED: see ✗ above.");
  return allOk ? 0 : 1;
}
