/**
 * The full demo: four real deployments of the sample shop on the embedded
 * stack, narrated live and checked against what they are supposed to show.
 *
 *   1. v1 → v2 healthy: 1% → 10% → 100% with analysis, migration expand /
 *      contract, blue (v1) decommissioned.
 *   2. v2 → v3 answering 5% errors (run.env SHOP_ERROR_RATE=0.05 in v3's
 *      release config): caught at 1%, traffic back on v2, migration rolled back,
 *      green gone.
 *   3. v3' (version id v3b) with a migration that fails midway: stopped before
 *      any user traffic, nothing half-applied.
 *   4. v4 with an approval gate: approved through the `approve` update, the
 *      worker is SIGKILLed during the bake and replaced, the deployment
 *      continues to promoted.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { Client, Connection } from "@temporalio/client";
import { Pool } from "pg";
import YAML from "yaml";
import { buildDeploymentInput } from "../../client/release-input";
import { startDeployment } from "../../client/start";
import { startLocalStack } from "../../dev/stack/local-stack";
import { SHOP_ARTIFACT, startShopAsBlue } from "../../dev/stack/shop-blue";
import { createLocalInfraDriver } from "../../infra/local/driver";
import { ensureRouterProcess, routerNameFor, stopRouterProcess } from "../../infra/local/router-process";
import { createLocalTrafficRouter } from "../../infra/local/traffic-router";
import { devPulumiSettings } from "../../infra/pulumi/workspace";
import { createMigrationEngine } from "../../lib/migrations/engine";
import { loadMigrationsDir } from "../../lib/migrations/file-format";
import { freePort, portIsFree } from "../../lib/runtime/free-port";
import { PROJECT_ROOT, stateDir } from "../../lib/runtime/paths";
import { type DetachedProcess, signalGroup, spawnDetached, stopGroup } from "../../lib/runtime/process-group";
import { approveUpdate } from "../../workflows/deployment/messages";
import type { DeploymentStatus } from "../../workflows/deployment/state";
import {
  allTrafficOn,
  columnAbsent,
  columnPresent,
  environmentGone,
  environmentUp,
  type Fact,
  indexAbsent,
  migrationPhase,
  SCOPE,
} from "./checks";
import { type Followed, followDeployment } from "./follow";
import { NEW_MIGRATION, stageMigrations } from "./migrations";

const CONFIG_FILE = path.join(PROJECT_ROOT, "examples", "shop", "shipshape.demo.yaml");
const LOAD_RPS = Number(process.env.SHIPSHAPE_DEMO_RPS ?? 300);

/** The parts of the YAML document the demo adjusts per version. */
interface RawConfig {
  run: { env: Record<string, string> };
  release: { steps: unknown[] };
}

interface Row {
  deployment: string;
  expected: string;
  outcome: string;
  "duration s": string;
  "time to recovery": string;
  ok: string;
}

const say = (line = "") => console.log(line);
const sec = (ms: number) => (ms / 1000).toFixed(1);

/**
 * The demo config, adjusted for one version's release, written where that
 * release's migrations are staged (`<releaseDir>/shipshape.yaml` beside
 * `migrations/`), the way a checkout of the version holds them.
 */
function writeReleaseConfig(releaseDir: string, adjust: (raw: RawConfig) => void): string {
  const raw = YAML.parse(fs.readFileSync(CONFIG_FILE, "utf8")) as RawConfig;
  adjust(raw);
  const file = path.join(releaseDir, "shipshape.yaml");
  fs.writeFileSync(file, YAML.stringify(raw));
  return file;
}

export async function runFullDemo(options: { keep: boolean }): Promise<number> {
  const started = Date.now();
  say("Shipshape demo — four real deployments of the sample shop, on the embedded stack.");
  const dir = path.join(stateDir(), "demo", `run-${Date.now()}`);
  // The worker's state folder (releases, instances, router, Pulumi backend) is this run's folder.
  const pulumi = devPulumiSettings(dir);
  const localInfraDriver = createLocalInfraDriver({ stateDir: dir, pulumi });
  const releaseDir = path.join(dir, "release");
  const migrationsDir = path.join(releaseDir, "migrations");
  const temporalPort = Number(
    process.env.SHIPSHAPE_TEMPORAL_PORT ?? ((await portIsFree(7233)) ? 7233 : await freePort()),
  );
  const uiPort = Number(
    process.env.SHIPSHAPE_UI_PORT ?? ((await portIsFree(8233)) ? 8233 : await freePort()),
  );
  const t0 = Date.now();
  const stack = await startLocalStack({
    dir,
    temporalPort,
    uiPort,
    persistent: true,
    withWorker: false,
    log: (line) => say(`  · ${line}`),
  });
  const cleanups: Array<() => Promise<unknown>> = [() => stack.stop()];
  const rows: Row[] = [];
  let allOk = true;
  const uiUrl = stack.temporal.uiUrl;
  try {
    const pool = new Pool({ connectionString: stack.databaseUrl, max: 2 });
    const engine = createMigrationEngine({ connectionString: stack.databaseUrl, ...SCOPE });
    cleanups.unshift(async () => {
      await engine.close();
      await pool.end();
    });

    // The shop's production schema before the demo: v1's migration, applied like `shipshape migrate`.
    stageMigrations(migrationsDir, "v1");
    for (const { definition } of loadMigrationsDir(migrationsDir)) {
      await engine.start(definition);
      await engine.complete(definition.name);
    }
    say("  · shop database at schema 0001_initial");

    const routerName = routerNameFor(SCOPE);
    const router = await ensureRouterProcess(routerName, { stateDir: dir });
    cleanups.unshift(() => stopRouterProcess(routerName, { purge: true, stateDir: dir }));
    say(`  · router ${router.url} (admin ${router.adminUrl})`);
    const traffic = createLocalTrafficRouter({
      adminUrl: router.adminUrl,
      token: router.token,
      healthPath: "/health",
    });

    say("  · starting worker (real local drivers) and shop v1…");
    const workerReady = stack.startWorker();
    const versions = ["v1", "v2", "v3", "v3b", "v4"];
    cleanups.unshift(async () => {
      for (const v of versions) {
        await localInfraDriver
          .destroyEnvironment({ deploymentId: "demo-cleanup", ...SCOPE, version: v }, () => {})
          .catch((err) => say(`  · destroy ${v} failed: ${String(err)}`));
      }
    });
    await startShopAsBlue({
      scope: SCOPE,
      version: "v1",
      databaseUrl: stack.databaseUrl,
      traffic,
      stateDir: dir,
      pulumi,
    });
    await workerReady;
    const load: DetachedProcess = spawnDetached(
      path.join(PROJECT_ROOT, "node_modules", ".bin", "tsx"),
      [
        "scripts/load/generate-load.ts",
        ...["--url", router.url, "--duration", "900s", "--max-requests", "100000000"],
        ...["--rps", String(LOAD_RPS), "--concurrency", "24"],
      ],
      { logFile: path.join(dir, "load.log"), cwd: PROJECT_ROOT },
    );
    cleanups.unshift(() => stopGroup(load, 5000));
    say(
      `  · stack up in ${sec(Date.now() - t0)} s: shop v1 behind the router, load ${LOAD_RPS} req/s → ${router.url}`,
    );
    say(`  · Temporal Web UI: ${uiUrl}`);

    const connection = await Connection.connect({ address: stack.temporal.address });
    cleanups.unshift(() => connection.close());
    const client = new Client({ connection, namespace: stack.temporal.namespace });

    const deploy = async (
      version: string,
      label: string,
      adjust: (raw: RawConfig) => void,
      onStatus?: (s: DeploymentStatus, handle: { approve(gate: string): Promise<void> }) => Promise<void>,
    ): Promise<Followed> => {
      stageMigrations(migrationsDir, version);
      // Deployed the way `shipshape deploy` does it: the config validated, the version's
      // migrations read into the input (the worker has no migrations folder), the shop's
      // artifact folder with its content digest.
      const input = await buildDeploymentInput({
        configPath: writeReleaseConfig(releaseDir, adjust),
        service: SCOPE.service,
        environment: SCOPE.environment,
        version,
        artifact: SHOP_ARTIFACT,
        requestedBy: "demo",
        reason: `demo: ${label}`,
      });
      const handle = await startDeployment(client, input, { taskQueue: stack.taskQueue });
      say(
        `  workflow ${handle.workflowId}: ${uiUrl}/namespaces/${stack.temporal.namespace}/workflows/${encodeURIComponent(handle.workflowId)}`,
      );
      const approver = {
        approve: async (gate: string) => {
          await handle.executeUpdate(approveUpdate, {
            args: [{ gate, by: "alice", reason: "demo: 1% and 10% looked healthy" }],
          });
        },
      };
      return followDeployment(handle, {
        log: (line) => say(`  ${line}`),
        timeoutMs: 150_000,
        onStatus: onStatus ? (s) => onStatus(s, approver) : undefined,
      });
    };
    const report = (facts: Fact[]) => {
      for (const f of facts) say(`  ${f.ok ? "✓" : "✗"} ${f.what}`);
      return facts.every((f) => f.ok);
    };
    const row = (deployment: string, expected: string, f: Followed, ttr: string, ok: boolean) => {
      allOk &&= ok;
      if (!ok) say("  ✗ did not behave as narrated");
      rows.push({
        deployment,
        expected,
        outcome: f.result.outcome,
        "duration s": sec(f.endedAt - f.startedAt),
        "time to recovery": ttr,
        ok: ok ? "✓" : "✗",
      });
    };

    // 1 ─────────────────────────────────────────────────────────────────────
    say(
      "\n▶ 1/4  shop v1 → v2, healthy: 1% → 10% → 100% with analysis; schema expand/contract; v1 decommissioned",
    );
    {
      const f = await deploy("v2", "healthy release", () => {});
      const ok = report([
        { what: `outcome ${f.result.outcome}`, ok: f.result.outcome === "promoted" },
        { what: `green reached ${f.maxGreenWeight}%`, ok: f.maxGreenWeight === 100 },
        {
          what: `${f.status?.analysis.verdicts.filter((v) => v.decision === "fail").length ?? "?"} failing verdicts`,
          ok: (f.status?.analysis.verdicts ?? []).every((v) => v.decision !== "fail"),
        },
        await allTrafficOn(traffic, "v2"),
        await migrationPhase(engine, NEW_MIGRATION.v2 as string, ["completed"]),
        await columnPresent(pool, "rating"),
        await environmentGone(pulumi, dir, "v1"),
        await environmentUp(pulumi, dir, "v2"),
      ]);
      row("v1 → v2 healthy", "promoted", f, "—", ok);
    }

    // 2 ─────────────────────────────────────────────────────────────────────
    say("\n▶ 2/4  shop v2 → v3, which answers 5% of requests with errors (run.env SHOP_ERROR_RATE=0.05)");
    let ttr2 = "—";
    {
      const f = await deploy("v3", "5% errors", (raw) => {
        raw.run.env.SHOP_ERROR_RATE = "0.05";
      });
      const verdict = f.status?.analysis.verdicts.find((v) => v.decision === "fail");
      say(`  verdict: ${verdict ? verdict.line : "(none)"}`);
      if (f.result.reason) say(`  why: ${f.result.reason}`);
      // time to recovery from the workflow's own clock: failing verdict → traffic restored to blue
      const restored = f.status?.compensations.find((c) => c.name === "restoreTraffic")?.endedAtMs ?? null;
      const back =
        verdict && restored !== null
          ? restored - verdict.atMs
          : f.failedAt !== null && f.trafficBackAt !== null
            ? f.trafficBackAt - f.failedAt
            : null;
      if (back !== null) ttr2 = `${sec(back)} s (traffic on v2)`;
      const ok = report([
        { what: `outcome ${f.result.outcome}`, ok: f.result.outcome === "rolled-back" },
        {
          what: `caught at ${verdict ? `${verdict.weightPercent}%` : "?"} (green never above ${f.maxGreenWeight}%)`,
          ok: verdict?.weightPercent === 1 && f.maxGreenWeight === 1,
        },
        {
          what: `traffic back on v2 ${back === null ? "(not seen)" : `${sec(back)} s after the verdict`}`,
          ok: back !== null && back < 10_000,
        },
        await allTrafficOn(traffic, "v2"),
        await migrationPhase(engine, NEW_MIGRATION.v3 as string, ["rolled_back"]),
        await columnAbsent(pool, "badge"),
        await environmentGone(pulumi, dir, "v3"),
        await environmentUp(pulumi, dir, "v2"),
      ]);
      row("v2 → v3 (5% errors)", "rolled-back", f, ttr2, ok);
    }

    // 3 ─────────────────────────────────────────────────────────────────────
    say("\n▶ 3/4  shop v3' (v3b) whose migration 0003_barcode fails midway through expand");
    {
      const f = await deploy("v3b", "failing migration", () => {});
      if (f.result.reason) say(`  why: ${f.result.reason}`);
      const rb = f.status?.phases.find((p) => p.phase === "rolling-back");
      const ttr = rb?.durationMs != null ? `${sec(rb.durationMs)} s (rollback)` : "—";
      const ok = report([
        { what: `outcome ${f.result.outcome}`, ok: f.result.outcome === "rolled-back" },
        { what: `user traffic to v3': ${f.maxGreenWeight}%`, ok: f.maxGreenWeight === 0 },
        { what: "stopped before verification/traffic", ok: !f.phases.includes("shifting-traffic") },
        await allTrafficOn(traffic, "v2"),
        await migrationPhase(engine, NEW_MIGRATION.v3b as string, ["rolled_back"]),
        await columnAbsent(pool, "barcode"),
        await indexAbsent(pool, "products_barcode_idx"),
        await environmentGone(pulumi, dir, "v3b"),
        await environmentUp(pulumi, dir, "v2"),
      ]);
      row("v2 → v3' (failing migration)", "rolled-back", f, ttr, ok);
    }

    // 4 ─────────────────────────────────────────────────────────────────────
    say(
      "\n▶ 4/4  shop v2 → v4 with an approval gate before full traffic; the worker is SIGKILLed during the bake",
    );
    {
      let approved = false;
      let killed = false;
      let restart: Promise<number> | null = null;
      const f = await deploy(
        "v4",
        "approval gate + worker crash",
        (raw) => {
          const steps = raw.release.steps;
          steps.splice(steps.length - 1, 0, { approval: "before-full-traffic" });
        },
        async (s, handle) => {
          const gate = s.pendingApprovals[0]?.gate;
          if (gate && !approved) {
            approved = true;
            say(`  → alice approves "${gate}" (the same \`approve\` update \`shipshape approve\` sends)`);
            await handle.approve(gate);
          }
          if (approved && !killed && s.weights.green === 100 && s.phase === "shifting-traffic") {
            killed = true;
            const w = stack.worker as DetachedProcess;
            say(`  → SIGKILL worker ${w.pid} during the 100% bake`);
            const at = Date.now();
            signalGroup(w.pid, "SIGKILL");
            restart = w.exited.then(async () => {
              const nw = await stack.startWorker();
              say(`  → new worker ${nw.pid} polling ${sec(Date.now() - at)} s after the kill`);
              return Date.now() - at;
            });
          }
        },
      );
      const restartMs = restart ? await (restart as Promise<number>) : null;
      const ok = report([
        { what: `outcome ${f.result.outcome}`, ok: f.result.outcome === "promoted" },
        {
          what: `approved by alice through the approve update`,
          ok: approved && (f.status?.decisions ?? []).some((d) => d.kind === "approve" && d.by === "alice"),
        },
        { what: `worker killed during the bake and replaced`, ok: killed && restartMs !== null },
        await allTrafficOn(traffic, "v4"),
        await migrationPhase(engine, NEW_MIGRATION.v4 as string, ["completed"]),
        await environmentGone(pulumi, dir, "v2"),
        await environmentUp(pulumi, dir, "v4"),
      ]);
      row(
        "v2 → v4 (approval + worker SIGKILL)",
        "promoted",
        f,
        restartMs === null ? "—" : `${sec(restartMs)} s (worker)`,
        ok,
      );
    }

    say("\nSummary");
    console.table(rows);
    say("\n$ shipshape stats --service shop --env demo");
    const cli = spawnSync(
      process.execPath,
      [path.join(PROJECT_ROOT, "bin", "shipshape.cjs"), "stats", "--service", "shop", "--env", "demo"],
      {
        cwd: PROJECT_ROOT,
        encoding: "utf8",
        timeout: 60_000,
        env: {
          ...process.env,
          TEMPORAL_ADDRESS: stack.temporal.address,
          TEMPORAL_NAMESPACE: stack.temporal.namespace,
          TEMPORAL_UI_URL: uiUrl,
        },
      },
    );
    say((cli.stdout ?? "").trimEnd());
    if (cli.status !== 0) {
      say(`shipshape stats exited ${cli.status}: ${(cli.stderr ?? "").trim()}`);
      allOk = false;
    }
    say(
      `\nWeb UI: ${uiUrl}/namespaces/${stack.temporal.namespace}/workflows  (demo took ${sec(Date.now() - started)} s)`,
    );
    if (options.keep) {
      say("--keep: the stack stays up; Ctrl-C to stop it.");
      await new Promise<void>((resolve) => {
        process.once("SIGINT", () => resolve());
        process.once("SIGTERM", () => resolve());
      });
    }
  } catch (err) {
    allOk = false;
    say(`\n✗ demo aborted: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  } finally {
    say("stopping everything…");
    for (const c of cleanups) {
      try {
        await c();
      } catch (err) {
        say(`  · cleanup: ${String(err)}`);
      }
    }
  }
  if (allOk) {
    fs.rmSync(dir, { recursive: true, force: true }); // logs, SQLite, PostgreSQL data of this run
  } else {
    say(`logs and state of this run: ${dir}`);
  }
  say(allOk ? "demo finished: everything behaved as narrated." : "demo FAILED: see ✗ above.");
  return allOk ? 0 : 1;
}
