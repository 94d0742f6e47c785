import { ApplicationFailure } from "@temporalio/activity";
import { configDigest } from "../lib/config/digest";
import { resolveEnvRefs } from "../lib/config/env-refs";
import { formatProblems } from "../lib/config/format";
import { preflightReleaseConfig } from "../lib/config/preflight";
import type { ReleaseConfig } from "../lib/config/schema";
import { ActivityKey, FAILURE_TYPES } from "../lib/deployment/types";
import { type DeploymentDeps, need } from "./deployment-deps";
import { withHeartbeat } from "./heartbeat";

export interface PreflightInput {
  key: ActivityKey;
  artifact: string;
  config: ReleaseConfig;
  configPath?: string;
}

export interface PreflightResult {
  digest: string;
  warnings: string[];
}

/**
 * Re-validates the plan before any side effect: the file (when given: schema,
 * semantics, app-config gate, env refs), the service/environment match, every
 * `${env:…}` reference resolvable on this worker, and the artifact exists.
 * Read-only, so idempotent. Failures are non-retryable (InvalidConfig,
 * MissingArtifact): retrying cannot fix a typo.
 */
export function createPreflightActivities(deps: Partial<DeploymentDeps>) {
  return {
    async preflightDeployment(input: PreflightInput): Promise<PreflightResult> {
      const key = ActivityKey.parse(input.key);
      const env = deps.env ?? process.env;
      const warnings: string[] = [];
      let digest = configDigest(input.config);
      if (input.configPath) {
        const r = await preflightReleaseConfig(input.configPath, env);
        if (!r.ok) {
          throw ApplicationFailure.nonRetryable(
            `invalid release config:\n${formatProblems(r.problems)}`,
            FAILURE_TYPES.invalidConfig,
          );
        }
        digest = r.digest;
        warnings.push(...r.warnings.map((w) => w.message));
      }
      const problems: string[] = [];
      if (input.config.service !== key.service) {
        problems.push(`the config is for service "${input.config.service}", not "${key.service}"`);
      }
      if (!input.config.environments[key.environment]) {
        problems.push(
          `environment "${key.environment}" is not in the config (known: ${Object.keys(input.config.environments).join(", ")})`,
        );
      }
      const resolved = resolveEnvRefs(input.config, env);
      if (!resolved.ok) problems.push(...resolved.problems.map((p) => p.message));
      if (problems.length > 0) {
        throw ApplicationFailure.nonRetryable(
          `invalid release config: ${problems.join("; ")}`,
          FAILURE_TYPES.invalidConfig,
        );
      }
      const artifacts = need(deps, "artifacts");
      if (!(await withHeartbeat(() => artifacts.exists(input.artifact)))) {
        throw ApplicationFailure.nonRetryable(
          `artifact ${input.artifact} does not exist`,
          FAILURE_TYPES.missingArtifact,
        );
      }
      return { digest, warnings };
    },
  };
}
