import fs from "node:fs";
import path from "node:path";
import { ApplicationFailure } from "@temporalio/activity";
import { isInside } from "../lib/config/contained-path";
import { configDigest } from "../lib/config/digest";
import { resolveEnvRefs } from "../lib/config/env-refs";
import { formatProblems } from "../lib/config/format";
import { preflightReleaseConfig } from "../lib/config/preflight";
import { boundOutput } from "../lib/config/redact";
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
 * The config file named in the workflow input is read on this worker: only
 * inside the folders the worker serves (SHIPSHAPE_CONFIG_ROOTS, path-list;
 * default its working folder), with symlinks resolved, so a start request
 * cannot make the worker read and report on any file it can open.
 */
function refuseConfigPathOutsideRoots(configPath: string, env: Record<string, string | undefined>): void {
  const roots = (env.SHIPSHAPE_CONFIG_ROOTS ?? process.cwd()).split(path.delimiter).filter(Boolean);
  let real: string;
  try {
    real = fs.realpathSync(configPath);
  } catch {
    real = path.resolve(configPath);
  }
  const inside = roots.some((r) => {
    try {
      return isInside(fs.realpathSync(r), real);
    } catch {
      return false;
    }
  });
  if (!inside || !/\.ya?ml$/.test(real)) {
    throw ApplicationFailure.nonRetryable(
      `config path ${configPath} is not a .yaml file inside the folders this worker serves (${roots.join(", ")}); set SHIPSHAPE_CONFIG_ROOTS on the worker`,
      FAILURE_TYPES.invalidConfig,
    );
  }
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
        refuseConfigPathOutsideRoots(input.configPath, env);
        const r = await preflightReleaseConfig(input.configPath, env);
        if (!r.ok) {
          throw ApplicationFailure.nonRetryable(
            boundOutput(`invalid release config:\n${formatProblems(r.problems)}`, 60, 8000),
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
