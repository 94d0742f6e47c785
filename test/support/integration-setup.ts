/**
 * Global setup of the `integration` vitest project: starts the REAL engines
 * once per run — a private PostgreSQL cluster and a Temporal dev server (in
 * memory, headless) — from the toolchain that `npm run setup` resolved. If the
 * toolchain is missing this throws with the reason; it never substitutes fakes.
 */
import fs from "node:fs";
import path from "node:path";
import type { TestProject } from "vitest/node";
import { type PostgresCluster, startPostgresCluster } from "../../dev/services/postgres-cluster";
import { startTemporalDevServer, type TemporalDevServer } from "../../dev/services/temporal-dev-server";
import { useDevCodecKeys } from "../../lib/codec/data-converter";
import { stateDir } from "../../lib/runtime/paths";
import { readManifest } from "../../lib/runtime/toolchain-manifest";

declare module "vitest" {
  export interface ProvidedContext {
    temporalAddress: string;
    postgresAdminUrl: string;
    postgresPort: number;
    testStateDir: string;
  }
}

let pg: PostgresCluster | undefined;
let temporal: TemporalDevServer | undefined;

export async function setup(project: TestProject): Promise<void> {
  const manifest = readManifest();
  // One payload key for the whole run, inherited by every test process and worker.
  useDevCodecKeys();
  const runDir = path.join(stateDir(), "test-runs", `run-${process.pid}`);
  fs.rmSync(runDir, { recursive: true, force: true });
  fs.mkdirSync(runDir, { recursive: true });
  pg = await startPostgresCluster({
    bindir: manifest.postgres.bindir,
    dataDir: path.join(runDir, "pg"),
    fast: true,
  });
  temporal = await startTemporalDevServer({
    cliPath: manifest.temporal.path,
    logFile: path.join(runDir, "temporal.log"),
    uiPort: null,
  });
  console.log(
    `[integration] Temporal ${manifest.temporal.version} at ${temporal.address}; ` +
      `PostgreSQL ${manifest.postgres.version} on :${pg.port}; Pulumi CLI ${manifest.pulumi.version}`,
  );
  project.provide("temporalAddress", temporal.address);
  project.provide("postgresAdminUrl", pg.url);
  project.provide("postgresPort", pg.port);
  project.provide("testStateDir", runDir);
}

export async function teardown(): Promise<void> {
  await temporal?.stop();
  pg?.stop();
}
