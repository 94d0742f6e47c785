/**
 * The shop example as the local target runs it, and the local infra driver of
 * a state folder. No vitest here: the benchmarks (bench/rollback-speed.ts,
 * through test/integration/analysis/e2e/rig.ts) import it too.
 */
import path from "node:path";
import { createLocalInfraDriver } from "../../../infra/local/driver";
import { devPulumiSettings } from "../../../infra/pulumi/workspace";
import type { StagedArtifact } from "../../../lib/drivers/artifact-store";
import type { RunSpec } from "../../../lib/drivers/infra-driver";
import { PROJECT_ROOT } from "../../../lib/runtime/paths";

export const SHOP_COMMAND = "node server.js";

/** The shop's artifact folder as a staged release (driver-level tests run it in place). */
export const SHOP_ARTIFACT: StagedArtifact = {
  location: path.join(PROJECT_ROOT, "examples", "shop"),
  digest: "sha256:shop-in-place",
};

export function shopRun(overrides: Partial<RunSpec> = {}): RunSpec {
  return {
    command: SHOP_COMMAND,
    instances: 2,
    healthPath: "/health",
    env: { SHOP_CONFIG: "config/app.json" },
    startTimeout: 20_000,
    ...overrides,
  };
}

/** The local infra driver of a test's state folder (dev Pulumi settings under it). */
export function localDriver(stateDir: string) {
  const pulumi = devPulumiSettings(stateDir);
  return { pulumi, driver: createLocalInfraDriver({ stateDir, pulumi }) };
}
