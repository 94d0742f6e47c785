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
  /** The column it adds to `orders` (filled by trigger and backfill; the data check reads it). */
  column: string | null;
  text: string;
}

const addColumn = (column: string, version: string) => `  - add_column:
      table: orders
      column: { name: ${column}, type: text, nullable: true, up: "'${version}:' || coalesce(version, '?')" }
`;

/**
 * The run's migrations: a nullable column on `orders` filled by trigger and
 * backfill (so expand/contract have real work). A run with the
 * `multi-migration` fault releases several at once (its durationMs is the
 * count): the column, an index on it, then one more column per migration —
 * started together at expand, completed together at contract.
 */
export function migrationsOf(plan: RunPlan): RunMigration[] {
  const v = plan.version;
  const prefix = String(plan.index + 1).padStart(4, "0");
  const count = plan.faults.find((f) => f.kind === "multi-migration")?.durationMs ?? 1;
  const column = `chaos_${v}`;
  const first: RunMigration = {
    name: count > 1 ? `${prefix}_chaos_${v}_1` : `${prefix}_chaos_${v}`,
    column,
    text: `description: orders get ${column} (chaos run ${plan.index})\noperations:\n${addColumn(column, v)}`,
  };
  const more: RunMigration[] = [];
  for (let i = 2; i <= count; i++) {
    const name = `${prefix}_chaos_${v}_${i}`;
    if (i === 2) {
      more.push({
        name,
        column: null,
        text: `description: an index on orders.${column} (chaos run ${plan.index})\noperations:\n  - create_index: { name: ${column}_idx, table: orders, columns: [${column}] }\n`,
      });
    } else {
      const extra = `${column}_${i}`;
      more.push({
        name,
        column: extra,
        text: `description: orders get ${extra} (chaos run ${plan.index})\noperations:\n${addColumn(extra, v)}`,
      });
    }
  }
  return [first, ...more];
}

/** The migrations folder a run's deployment reads: the shop's initial migration, then `files`. */
export function stageMigrations(dir: string, files: Array<{ name: string; text: string }>): void {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  fs.copyFileSync(INITIAL_MIGRATION, path.join(dir, "0001_initial.yaml"));
  for (const f of files) fs.writeFileSync(path.join(dir, `${f.name}.yaml`), f.text);
}
