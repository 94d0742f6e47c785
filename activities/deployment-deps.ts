import { ApplicationFailure } from "@temporalio/activity";
import { type ActivityKey, FAILURE_TYPES } from "../lib/deployment/types";
import { ArtifactError } from "../lib/drivers/artifact-store";
import type { MigrationDriver } from "../lib/drivers/migration-driver";
import type { Notifier } from "../lib/drivers/notifier";
import type { Target, TargetRegistry } from "../lib/drivers/target";

/**
 * Drivers behind DeploymentWorkflow's activities (fakes in workflow tests,
 * real ones in the worker). Every one is required: a worker that lacks one
 * does not compile.
 */
export interface DeploymentDeps {
  /** The targets (infra/targets.ts): each activity uses the target of its environment. */
  targets: TargetRegistry;
  migrations: MigrationDriver;
  notifier: Notifier;
  /** The worker's environment: `${env:NAME}` references resolve against it, inside activities. */
  env: Readonly<Record<string, string | undefined>>;
}

/** The target of the activity's environment (the key carries its spec). */
export function targetOf(deps: DeploymentDeps, key: ActivityKey): Target {
  return deps.targets.forSpec(key.target);
}

/** An ArtifactError is a verdict about the artifact, not a transient failure: non-retryable. */
export function artifactFailure(err: unknown): unknown {
  if (!(err instanceof ArtifactError)) return err;
  return ApplicationFailure.create({
    message: err.message,
    type: err.code === "missing" ? FAILURE_TYPES.missingArtifact : FAILURE_TYPES.invalidArtifact,
    nonRetryable: true,
  });
}
