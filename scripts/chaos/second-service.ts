/**
 * The `concurrent-service` fault: a second service, `ledger`, deploys on the
 * same PostgreSQL database at the same moment as the shop's run. It runs the
 * shop's artifact (reading the shop's tables from `public`, so /health
 * answers) but has migrations of its own — a `ledger_entries` table, then a
 * column per deployment, filled by backfill — started by its own scope's
 * engine while the shop's expand/contract run. Its first deployment has no
 * blue; every later one replaces the previous ledger version.
 *
 * After its deployment closed, what it must leave: an outcome (promoted or
 * rolled back, never needs-attention), its router all on its blue, only its
 * blue's stack and instance, its migration completed or rolled back and none
 * active, exactly one version schema of its own. The shop's checks
 * (invariants.ts) only look at the shop's stacks and schemas, so each
 * service is judged on its own.
 */
import fs from "node:fs";
import path from "node:path";
import type { Client } from "@temporalio/client";
import YAML from "yaml";
import { deploymentResult } from "../../client/deployment-result";
import { buildDeploymentInput } from "../../client/release-input";
import { startDeployment } from "../../client/start";
import { SHOP_ARTIFACT, SHOP_RELEASE_BASE } from "../../dev/stack/shop-blue";
import { localStackName } from "../../infra/local/program";
import { readRouterProcess, resolveRouterName, stopRouterProcess } from "../../infra/local/router-process";
import { createLocalTrafficRouter } from "../../infra/local/traffic-router";
import type { PulumiSettings } from "../../infra/pulumi/settings";
import type { DeploymentResult } from "../../lib/deployment/types";
import type { InfraDriver } from "../../lib/drivers/infra-driver";
import { createMigrationEngine } from "../../lib/migrations/engine";
import { findLeftovers } from "../../lib/migrations/leftovers";
import { versionSchemaName } from "../../lib/migrations/versioned-schema";
import type { Violation } from "./invariants";
import { instancesByStack, pulumiStacks, reapScopeProcesses } from "./system";

export const SECOND_SCOPE = { service: "ledger", environment: "chaos" } as const;
const DEPLOY_TIMEOUT_MS = 5 * 60_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Rows the ledger's table holds before each deployment, so its backfill has work while the shop's runs. */
const LEDGER_ROWS = 5000;

export interface SecondServiceDeployment {
  version: string;
  migration: string;
  result: DeploymentResult | null;
  failure: string | null;
  startedAt: number;
  endedAt: number;
}

export interface SecondService {
  /** The ledger version serving now (null: none deployed yet). */
  blue(): string | null;
  /** Deploys the next ledger version now; resolves when it closed (or timed out). */
  deploy(): Promise<SecondServiceDeployment>;
  /** The ledger's invariants after its last deployment. */
  check(d: SecondServiceDeployment): Promise<Violation[]>;
}

function initialMigration(): string {
  return `description: the ledger's own table, beside the shop's on the same database
operations:
  - create_table:
      table: ledger_entries
      columns:
        - { name: id, type: bigserial, primary_key: true }
        - { name: note, type: text }
`;
}

function columnMigration(version: string): string {
  return `description: ledger_entries get note_${version}
operations:
  - add_column:
      table: ledger_entries
      column: { name: note_${version}, type: text, nullable: true, up: "'${version}:' || coalesce(note, '?')" }
`;
}

/** The ledger's release: the chaos config with its own service name, no analysis, short steps. */
function writeRelease(dir: string, migrations: Array<{ name: string; text: string }>): string {
  const migDir = path.join(dir, "migrations");
  fs.rmSync(migDir, { recursive: true, force: true });
  fs.mkdirSync(migDir, { recursive: true });
  for (const m of migrations) fs.writeFileSync(path.join(migDir, `${m.name}.yaml`), m.text);
  const config = {
    service: SECOND_SCOPE.service,
    ...SHOP_RELEASE_BASE,
    environments: { [SECOND_SCOPE.environment]: { target: "local" } },
    release: {
      verify: [{ http: { path: "/health", expect: 200 } }],
      steps: [
        { weight: 50, bake: "2s" },
        { weight: 100, bake: "2s" },
      ],
      postPromotion: { watch: "1s", keepPrevious: "1s" },
    },
  };
  const file = path.join(dir, "shipshape.yaml");
  fs.writeFileSync(file, YAML.stringify(config));
  return file;
}

export function createSecondService(o: {
  dir: string;
  client: Client;
  taskQueue: string;
  databaseUrl: string;
  stateDir: string;
  pulumi: PulumiSettings;
  query: (sql: string, params?: unknown[]) => Promise<unknown>;
}): SecondService {
  let blue: string | null = null;
  let count = 0;
  /** Migrations its promoted deployments completed, in order (staged before each new one). */
  const completed: Array<{ name: string; text: string }> = [
    { name: "0001_ledger", text: initialMigration() },
  ];
  let currentMigration: string | null = null;

  return {
    blue: () => blue,
    async deploy() {
      count++;
      const version = `l${count}`;
      // From the second deployment on, the table exists: give its backfill rows to fill.
      if (currentMigration)
        await o.query(`INSERT INTO ledger_entries (note) SELECT 'row ' || g FROM generate_series(1, $1) g`, [
          LEDGER_ROWS,
        ]);
      const own = currentMigration
        ? {
            name: `${String(completed.length + 1).padStart(4, "0")}_ledger_${version}`,
            text: columnMigration(version),
          }
        : null;
      const staged = own ? [...completed, own] : completed;
      const configPath = writeRelease(o.dir, staged);
      const input = await buildDeploymentInput({
        configPath,
        service: SECOND_SCOPE.service,
        environment: SECOND_SCOPE.environment,
        version,
        artifact: SHOP_ARTIFACT,
        requestedBy: "chaos",
        reason: "chaos: a second service deploying on the same database",
      });
      const startedAt = Date.now();
      const handle = await startDeployment(o.client, input, { taskQueue: o.taskQueue });
      let result: DeploymentResult | null = null;
      let failure: string | null = null;
      for (;;) {
        try {
          result = await deploymentResult(handle);
          break;
        } catch (err) {
          // result() is a long poll a Temporal restart breaks: ask again until the deadline.
          if ((err as Error).name === "WorkflowFailedError" || Date.now() > startedAt + DEPLOY_TIMEOUT_MS) {
            failure = String(err);
            break;
          }
          await sleep(500);
        }
      }
      const migration = (own ?? (completed.at(-1) as { name: string })).name;
      if (result?.outcome === "promoted") {
        blue = version;
        if (own) completed.push(own);
        currentMigration = migration;
      }
      // Not promoted: its migration rolled back with it (the first one's 0001 too: the next starts it again).
      return { version, migration, result, failure, startedAt, endedAt: Date.now() };
    },
    async check(d) {
      const v: Violation[] = [];
      const bad = (detail: string) =>
        v.push({ invariant: "second-service", detail: `ledger ${d.version}: ${detail}` });
      if (!d.result) {
        bad(`did not end: ${d.failure ?? "unknown"}`);
        return v;
      }
      if (d.result.outcome === "needs-attention") bad(`needs-attention: ${d.result.reason}`);
      // The ledger's own router (the worker started it for the ledger's first deployment).
      const info = readRouterProcess(resolveRouterName(SECOND_SCOPE, o.stateDir), o.stateDir);
      if (!info) {
        if (blue) bad("its router is gone");
        return v;
      }
      const traffic = createLocalTrafficRouter({
        adminUrl: info.adminUrl,
        token: info.token,
        healthPath: "/health",
      });
      const routes = await traffic.getRoutes(SECOND_SCOPE);
      if (
        (routes.backends.blue?.version ?? null) !== blue ||
        routes.backends.green ||
        (blue && routes.split.blue !== 100)
      )
        bad(
          `router: blue ${routes.backends.blue?.version ?? "none"} ${routes.split.blue}%, green ${routes.backends.green?.version ?? "none"} (expected all on ${blue ?? "nothing"})`,
        );
      const prefix = `${SECOND_SCOPE.service}-${SECOND_SCOPE.environment}-`;
      const blueStack = blue ? localStackName({ ...SECOND_SCOPE, version: blue }, o.stateDir) : null;
      const stacks = pulumiStacks(o.pulumi).filter((s) => s.startsWith(prefix));
      if (stacks.length !== (blueStack ? 1 : 0) || (blueStack && stacks[0] !== blueStack))
        bad(`pulumi stacks [${stacks.join(", ")}], expected [${blueStack ?? ""}]`);
      for (const [stack, pids] of instancesByStack(prefix))
        if (stack !== blueStack) bad(`${pids.length} instance(s) of ${stack} still running`);
      const engine = createMigrationEngine({ connectionString: o.databaseUrl, ...SECOND_SCOPE });
      try {
        const st = await engine.status();
        const phase = st.migrations.find((m) => m.name === d.migration)?.phase ?? "absent";
        const promoted = d.result.outcome === "promoted";
        if (promoted ? phase !== "completed" : phase !== "rolled_back" && phase !== "absent")
          bad(`migration ${d.migration} is ${phase} after ${d.result.outcome}`);
        if (st.active) bad(`migration ${st.active.name} still active`);
      } finally {
        await engine.close().catch(() => undefined);
      }
      const left = await findLeftovers(o.databaseUrl, SECOND_SCOPE.service);
      const expected = currentMigration
        ? [versionSchemaName({ ...SECOND_SCOPE, migration: currentMigration })]
        : [];
      if (left.versionSchemas.join() !== expected.join())
        bad(`version schemas [${left.versionSchemas.join(", ")}], expected [${expected.join(", ")}]`);
      return v;
    },
  };
}

/**
 * The campaign's last-resort cleanup for the second service: every ledger
 * stack destroyed, its processes reaped, its router stopped and purged.
 */
export async function cleanUpSecondService(
  rig: { infra: InfraDriver; pulumi: PulumiSettings; stateDir: string },
  log: (line: string) => void,
): Promise<void> {
  const prefix = `${SECOND_SCOPE.service}-${SECOND_SCOPE.environment}-`;
  for (const st of pulumiStacks(rig.pulumi).filter((x) => x.startsWith(prefix))) {
    await rig.infra
      .destroyEnvironment(
        { deploymentId: "chaos-cleanup", ...SECOND_SCOPE, version: st.slice(prefix.length) },
        () => {},
      )
      .catch((err) => log(`  · destroy ${st}: ${String(err)}`));
  }
  await reapScopeProcesses(prefix);
  await stopSecondServiceRouter(rig.stateDir).catch(() => undefined);
}

/** Stops the second service's router (control process and HAProxy) and removes its state. */
export function stopSecondServiceRouter(stateDir: string): Promise<unknown> {
  return stopRouterProcess(resolveRouterName(SECOND_SCOPE, stateDir), { purge: true, stateDir });
}
