/**
 * An infra target (one folder in infra/: local, aws) provisions and destroys
 * one version environment. `createActivities(deps)` wraps it; workflow tests
 * pass a fake, integration tests and the worker pass the real target.
 */

import type { z } from "zod";
import type { RunSchema } from "../config/schema";
import type { StagedArtifact } from "./artifact-store";
import type { Progress, VersionEnvironmentRef } from "./common";

export type RunSpec = z.output<typeof RunSchema>;

export interface ProvisionedInstance {
  url: string;
  pid?: number;
  logFile?: string;
}

export interface ProvisionedEnvironment {
  stackName: string;
  instances: ProvisionedInstance[];
  /** Target-specific outputs (e.g. AWS target group ARN). */
  outputs: Record<string, unknown>;
  clearedLocks: number;
  clearedPendingOperations: number;
  /** Of those, pending creates recorded with their provider ID (imported) rather than forgotten. */
  importedPendingCreates?: number;
}

export interface ProvisionSpec {
  run: RunSpec;
  /** run.env with `${env:…}` resolved on the worker. */
  env: Record<string, string>;
  /**
   * Names of `env` whose value came from a `${env:…}` reference: secrets, which a
   * target stores as such (AWS: an SSM SecureString the task reads by
   * reference). Absent: every value of `env` is treated as a secret.
   */
  secretNames?: string[];
  /** What the version runs from (ArtifactStore.stage of the same target). */
  artifact: StagedArtifact;
}

export interface InfraDriver {
  /**
   * `signal` aborted: stop the operation (Pulumi cancels gracefully: the
   * resource in progress finishes, nothing new starts) and settle only once it
   * has stopped, so nothing keeps creating behind a rollback.
   */
  provisionEnvironment(
    ref: VersionEnvironmentRef,
    spec: ProvisionSpec,
    progress: Progress,
    signal?: AbortSignal,
  ): Promise<ProvisionedEnvironment>;
  /** destroy + remove stack; resolves { existed: false } when already gone. */
  destroyEnvironment(ref: VersionEnvironmentRef, progress: Progress): Promise<{ existed: boolean }>;
}
