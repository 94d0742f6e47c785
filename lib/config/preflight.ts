// The deployment's first activity: everything `shipshape validate` checks, plus
// every `${env:…}` reference resolved against the worker's environment, before
// any side effect. Returns the resolved config (secrets only in memory, never in
// problems) or the problems.

import { resolveEnvRefs } from "./env-refs";
import { type LoadOptions, loadReleaseConfig } from "./load";
import type { Problem } from "./problems";
import type { ReleaseConfig } from "./schema";

export type PreflightResult =
  | { ok: true; config: ReleaseConfig; resolved: ReleaseConfig; digest: string; warnings: Problem[] }
  | { ok: false; problems: Problem[] };

export async function preflightReleaseConfig(
  file: string,
  env: Record<string, string | undefined>,
  options: Omit<LoadOptions, "env" | "envRefSeverity"> = {},
): Promise<PreflightResult> {
  // The deployment's own gate runs the check commands (validate only does with --run-checks).
  const loaded = await loadReleaseConfig(file, { runChecks: true, ...options, env, envRefSeverity: "error" });
  if (!loaded.ok) return { ok: false, problems: loaded.problems };
  const resolved = resolveEnvRefs(loaded.config, env, { file, positions: loaded.envRefs });
  if (!resolved.ok) return { ok: false, problems: resolved.problems };
  return {
    ok: true,
    config: loaded.config,
    resolved: resolved.config,
    digest: loaded.digest,
    warnings: loaded.warnings,
  };
}
