/**
 * What one chaos run deploys, the way a user deploys: the shop's artifact
 * folder, the chaos release config (a bad version answers BAD_ERROR_RATE of
 * its requests with 500s; an approval gate when planned; the users' error
 * rate read from the campaign's metrics endpoint) written next to its
 * `migrations/` folder, which holds a migration of the run's own staged
 * after the ones earlier runs completed. The input is built by the CLI's
 * own path (client/release-input.ts), so the migrations travel in it.
 */
import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";
import { buildDeploymentInput } from "../../client/release-input";
import { SHOP_ARTIFACT } from "../../dev/stack/shop-blue";
import type { DeploymentInput } from "../../lib/deployment/types";
import { PROJECT_ROOT } from "../../lib/runtime/paths";
import type { RunPlan } from "./plan";

export const SCOPE = { service: "shop", environment: "chaos" } as const;
/** A bad version answers this share of requests with 500s. */
export const BAD_ERROR_RATE = 0.3;
export const GATE = "before-full-traffic";
const CONFIG_FILE = path.join(PROJECT_ROOT, "examples", "shop", "shipshape.chaos.yaml");
const INITIAL_MIGRATION = path.join(PROJECT_ROOT, "examples", "shop", "migrations", "0001_initial.yaml");

interface RawConfig {
  run: { env: Record<string, string> };
  release: {
    steps: unknown[];
    analysis: { metrics: Array<{ name: string; query: string }> };
  };
}

/** The run's release config, written as `<releaseDir>/shipshape.yaml` (its migrations: `<releaseDir>/migrations`). */
function writeReleaseConfig(releaseDir: string, plan: RunPlan, metricsQuery: string): string {
  const raw = YAML.parse(fs.readFileSync(CONFIG_FILE, "utf8")) as RawConfig;
  if (plan.health === "bad") raw.run.env.SHOP_ERROR_RATE = String(BAD_ERROR_RATE);
  if (plan.approvalGate) raw.release.steps.splice(raw.release.steps.length - 1, 0, { approval: GATE });
  for (const m of raw.release.analysis.metrics) if (m.name === "user-error-rate") m.query = metricsQuery;
  fs.mkdirSync(releaseDir, { recursive: true });
  const file = path.join(releaseDir, "shipshape.yaml");
  fs.writeFileSync(file, YAML.stringify(raw));
  return file;
}

/** The run's deployment input: its config and staged migrations, the shop's artifact folder. */
export function releaseFor(
  releaseDir: string,
  plan: RunPlan,
  metricsQuery: string,
  seed: number,
): Promise<DeploymentInput> {
  return buildDeploymentInput({
    configPath: writeReleaseConfig(releaseDir, plan, metricsQuery),
    service: SCOPE.service,
    environment: SCOPE.environment,
    version: plan.version,
    artifact: SHOP_ARTIFACT,
    requestedBy: "chaos",
    reason: `chaos run ${plan.index} (seed ${seed})`,
  });
}

export interface RunMigration {
  name: string;
  column: string;
  text: string;
}

/** The run's migration: a nullable column on `orders` filled by trigger and backfill (so expand/contract have real work). */
export function migrationOf(plan: RunPlan): RunMigration {
  const column = `chaos_${plan.version}`;
  return {
    name: `${String(plan.index + 1).padStart(4, "0")}_chaos_${plan.version}`,
    column,
    text: `description: orders get ${column} (chaos run ${plan.index})
operations:
  - add_column:
      table: orders
      column: { name: ${column}, type: text, nullable: true, up: "'${plan.version}:' || coalesce(version, '?')" }
`,
  };
}

/** The migrations folder a run's deployment reads: the shop's initial migration, then `files`. */
export function stageMigrations(dir: string, files: Array<{ name: string; text: string }>): void {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  fs.copyFileSync(INITIAL_MIGRATION, path.join(dir, "0001_initial.yaml"));
  for (const f of files) fs.writeFileSync(path.join(dir, `${f.name}.yaml`), f.text);
}
