/**
 * What one chaos run deploys: the chaos release config (a bad version answers
 * BAD_ERROR_RATE of its requests with 500s; an approval gate when planned;
 * the users' error rate read from the campaign's metrics endpoint) and a
 * migration of its own, staged after the ones earlier runs completed.
 */
import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";
import { configDigest } from "../../lib/config/digest";
import { ReleaseConfigSchema } from "../../lib/config/schema";
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

export function releaseFor(plan: RunPlan, metricsQuery: string) {
  const raw = YAML.parse(fs.readFileSync(CONFIG_FILE, "utf8")) as RawConfig;
  if (plan.health === "bad") raw.run.env.SHOP_ERROR_RATE = String(BAD_ERROR_RATE);
  if (plan.approvalGate) raw.release.steps.splice(raw.release.steps.length - 1, 0, { approval: GATE });
  for (const m of raw.release.analysis.metrics) if (m.name === "user-error-rate") m.query = metricsQuery;
  const config = ReleaseConfigSchema.parse(raw);
  return { config, configDigest: configDigest(config) };
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
