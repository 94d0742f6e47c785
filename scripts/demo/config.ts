/**
 * The demo's release config (examples/shop/shipshape.demo.yaml), adjusted per
 * version the way a release's own config would differ, plus the display unit
 * of each metric for the verdict tables.
 */
import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";
import { inferUnit } from "../../lib/analysis/format";
import { metricSpecsFromConfig } from "../../lib/analysis/from-config";
import type { Unit } from "../../lib/analysis/types";
import { configDigest } from "../../lib/config/digest";
import { type ReleaseConfig, ReleaseConfigSchema } from "../../lib/config/schema";
import { PROJECT_ROOT } from "../../lib/runtime/paths";

export const DEMO_CONFIG_FILE = path.join(PROJECT_ROOT, "examples", "shop", "shipshape.demo.yaml");

/** The parts of the YAML document a scenario adjusts. */
export interface RawConfig {
  run: { env: Record<string, string> };
  release: { steps: unknown[] };
  environments: Record<string, { approvals?: { signers?: string } }>;
}

/** The demo config, adjusted for one version's release. */
export function releaseConfig(adjust: (raw: RawConfig) => void = () => {}): {
  config: ReleaseConfig;
  configDigest: string;
} {
  const raw = YAML.parse(fs.readFileSync(DEMO_CONFIG_FILE, "utf8")) as RawConfig;
  adjust(raw);
  const config = ReleaseConfigSchema.parse(raw);
  return { config, configDigest: configDigest(config) };
}

/**
 * The demo config, adjusted for one version's release, written where that
 * release's migrations are staged (`<releaseDir>/shipshape.yaml` beside
 * `migrations/`), the way a checkout of the version holds them.
 */
export function writeReleaseConfig(releaseDir: string, adjust: (raw: RawConfig) => void = () => {}): string {
  const raw = YAML.parse(fs.readFileSync(DEMO_CONFIG_FILE, "utf8")) as RawConfig;
  adjust(raw);
  const file = path.join(releaseDir, "shipshape.yaml");
  fs.writeFileSync(file, YAML.stringify(raw));
  return file;
}

/** Metric name → display unit (what the judges' sentences use too). */
export function metricUnits(config: ReleaseConfig): Map<string, Unit> {
  const analysis = config.release.analysis;
  const specs = analysis ? metricSpecsFromConfig(analysis) : [];
  return new Map(specs.map((s) => [s.name, inferUnit(s)]));
}
