import path from "node:path";
import { Client, Connection } from "@temporalio/client";
import { bundleWorkflowCode, NativeConnection, Worker } from "@temporalio/worker";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createActivities } from "../../../activities";
import { engineMigrationDriver } from "../../../activities/migration-driver";
import { deploymentResult } from "../../../client/deployment-result";
import { readMigrationBundle } from "../../../client/migration-bundle";
import { devDataConverter } from "../../../lib/codec/data-converter";
import type { ReleaseConfig } from "../../../lib/config/schema";
import { createMigrationEngine, type MigrationEngine } from "../../../lib/migrations/engine";
import { loadMigrationsDir } from "../../../lib/migrations/file-format";
import { findLeftovers } from "../../../lib/migrations/leftovers";
import { WORKFLOWS_PATH } from "../../../workers/workflow-bundle";
import { input, releaseConfig } from "../../support/deployment-harness";
import { createFakes, type FakeOptions } from "../../support/fakes";
import { freshDatabase } from "../../support/postgres";

/**
 * Migrations inside the workflow, on real PostgreSQL: DeploymentWorkflow expands
 * the schema before any traffic, contracts only after promotion + watch + keep
 * window, and rolls the schema back as a compensation (after traffic) — with
 * the real migration engine and the sample shop's migrations. Infra, router
 * and metrics are fakes (their real twins are tested elsewhere).
 */
const SHOP = path.join(__dirname, "..", "..", "..", "examples", "shop");
let connection: Connection;
let nativeConnection: NativeConnection;
let client: Client;
let bundle: { code: string };

beforeAll(async () => {
  connection = await Connection.connect({ address: inject("temporalAddress") });
  nativeConnection = await NativeConnection.connect({ address: inject("temporalAddress") });
  client = new Client({ connection, dataConverter: devDataConverter() });
  bundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: undefined });
});
afterAll(async () => {
  await connection?.close();
  await nativeConnection?.close();
});

const config = releaseConfig({
  steps: [{ weight: 50 }, { weight: 100 }],
  analysis: {
    interval: "1s",
    metrics: [{ name: "error-rate", provider: "router", query: "error_rate", max: "1%", critical: true }],
  },
  postPromotion: { watch: "1s", keepPrevious: "1s" },
});

async function deploy(
  fakeOptions: FakeOptions,
  migrationsDir: string,
  prepare?: (engine: MigrationEngine) => Promise<void>,
) {
  const db = await freshDatabase("wfmig");
  // What `shipshape migrate --service shop --env production` sees: the deployment's scope.
  const engine = createMigrationEngine({
    connectionString: db.url,
    service: "shop",
    environment: "production",
  });
  // The release's database, resolved on the worker from ${env:SHOP_DB}.
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal ${env:NAME} syntax
  const cfg: ReleaseConfig = { ...config, database: { url: "${env:SHOP_DB}", migrations: "./migrations" } };
  const real = engineMigrationDriver({ env: { SHOP_DB: db.url } });
  try {
    if (prepare) await prepare(engine);
    const fakes = createFakes(fakeOptions);
    // The real engine driver, logging into the fakes' call log so orders can be asserted.
    const migrations: typeof real = {
      expand: (ref, database, bundle, progress) => {
        fakes.calls.push("expand");
        return real.expand(ref, database, bundle, progress);
      },
      contract: (ref, database, migration, progress) => {
        fakes.calls.push(`contract:${migration}`);
        return real.contract(ref, database, migration, progress);
      },
      rollback: (ref, database, migration, progress) => {
        fakes.calls.push(`rollbackSchema:${migration ?? "unknown"}`);
        return real.rollback(ref, database, migration, progress);
      },
      close: () => real.close(),
    };
    const taskQueue = `wfmig-${Math.random().toString(36).slice(2)}`;
    const worker = await Worker.create({
      dataConverter: devDataConverter(),
      connection: nativeConnection,
      taskQueue,
      workflowBundle: bundle,
      activities: createActivities({ ...fakes.deps, migrations, env: { SHOP_DB: db.url } }),
    });
    const result = await worker.runUntil(async () =>
      deploymentResult(
        await client.workflow.start("deploymentWorkflow", {
          taskQueue,
          workflowId: `shipshape:shop:production:${taskQueue}`,
          args: [input(cfg, { deploymentId: taskQueue, migrations: readMigrationBundle(migrationsDir) })],
        }),
      ),
    );
    const status = await engine.status();
    const leftovers = await findLeftovers(db.url, "shop");
    return {
      result: result as { outcome: string; reason: string | null },
      calls: fakes.effects(),
      status,
      leftovers,
    };
  } finally {
    await real.close();
    await engine.close();
    await db.drop();
  }
}

const phaseOf = (status: MigrationEngineStatus, name: string) =>
  status.migrations.find((m) => m.name === name)?.phase;
type MigrationEngineStatus = Awaited<ReturnType<MigrationEngine["status"]>>;

describe("DeploymentWorkflow with the real migration engine", () => {
  it("promotion: expand before any traffic, contract only after the keep window", async () => {
    const { result, calls, status } = await deploy({}, path.join(SHOP, "migrations"));
    expect(result.outcome).toBe("promoted");
    const firstWeight = calls.findIndex((c) => c.startsWith("weight:"));
    expect(calls.indexOf("expand")).toBeGreaterThanOrEqual(0);
    expect(calls.indexOf("expand")).toBeLessThan(firstWeight);
    // contract after the last traffic step and after blue is decommissioned
    // (which itself waits for the post-promotion watch and the keep window)
    const contract = calls.indexOf("contract:0002_title_and_cents");
    expect(contract).toBeGreaterThan(calls.lastIndexOf("weight:100"));
    expect(contract).toBeGreaterThan(calls.indexOf("destroy:v1"));
    expect(phaseOf(status, "0002_title_and_cents")).toBe("completed");
    // The release's two migrations started together: both completed at finalize, none during expand.
    expect(phaseOf(status, "0001_initial")).toBe("completed");
    expect(calls.filter((c) => c.startsWith("contract:"))).toEqual(["contract:0002_title_and_cents"]);
    expect(status.active).toBeNull();
  });

  it("failed analysis: traffic back to blue first, then the schema is rolled back (data put aside: see the operations matrix)", async () => {
    const { result, calls, status } = await deploy(
      { errorRate: (green) => (green > 0 ? 0.2 : 0.001) },
      path.join(SHOP, "migrations"),
    );
    expect(result.outcome).toBe("rolled-back");
    expect(result.reason).toMatch(/error-rate/);
    const restored = calls.findIndex(
      (c, i) => i > calls.indexOf("weight:50") && (c === "weight:0" || c.startsWith("backends:")),
    );
    const schemaRollback = calls.findIndex((c) => c.startsWith("rollbackSchema:"));
    expect(restored).toBeGreaterThan(0);
    expect(schemaRollback).toBeGreaterThan(restored);
    // Every migration the release started is undone, the first one too.
    expect(phaseOf(status, "0002_title_and_cents")).toBe("rolled_back");
    expect(phaseOf(status, "0001_initial")).toBe("rolled_back");
    expect(status.active).toBeNull();
  });

  it("a failing migration stops the deployment before any user traffic; nothing half-applied", async () => {
    const { result, calls, status, leftovers } = await deploy(
      {},
      path.join(SHOP, "migrations-failing"),
      async (engine) => {
        // v2's migrations are already in place, as after the healthy release
        for (const { definition } of loadMigrationsDir(path.join(SHOP, "migrations"))) {
          await engine.start(definition);
          await engine.complete(definition.name);
        }
      },
    );
    expect(result.outcome).toBe("rolled-back");
    expect(calls.some((c) => c.startsWith("weight:"))).toBe(false);
    expect(status.active).toBeNull();
    const failing = status.migrations.find((m) => !["0001_initial", "0002_title_and_cents"].includes(m.name));
    expect(failing?.phase).toBe("rolled_back");
    expect(phaseOf(status, "0002_title_and_cents")).toBe("completed");
    // Nothing half-applied: no trigger, function, unrecorded internal column or
    // invalid index, and only the serving version's schema.
    expect(leftovers).toMatchObject({
      triggers: [],
      functions: [],
      unrecordedInternal: [],
      invalidIndexes: [],
    });
    expect(leftovers.versionSchemas).toHaveLength(1);
  });
});
