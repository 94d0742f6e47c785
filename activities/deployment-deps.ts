import { ApplicationFailure } from "@temporalio/activity";
import { FAILURE_TYPES } from "../lib/deployment/types";
import type { ArtifactStore } from "../lib/drivers/artifact-store";
import type { InfraDriver } from "../lib/drivers/infra-driver";
import type { MigrationDriver } from "../lib/drivers/migration-driver";
import type { Notifier } from "../lib/drivers/notifier";
import type { TrafficRouter } from "../lib/drivers/traffic-router";
import type { VerifyDriver } from "../lib/drivers/verifier";
import type { MetricProviders } from "./metrics/registry";

/** Drivers behind DeploymentWorkflow's activities (fakes in workflow tests, real ones in the worker). */
export interface DeploymentDeps {
  /** The infra target (infra/local, infra/aws) that provisions version environments. */
  infraTarget: InfraDriver;
  router: TrafficRouter;
  migrations: MigrationDriver;
  /** By provider name (activities/metrics/registry.ts createMetricProviders). */
  metrics: MetricProviders;
  verifier: VerifyDriver;
  notifier: Notifier;
  artifacts: ArtifactStore;
  /** Environment `${env:NAME}` references resolve against (default process.env). */
  env?: Record<string, string | undefined>;
}

/** A driver the worker was not given: not retryable (a redeploy of the worker fixes it, not a retry). */
export function need<K extends keyof DeploymentDeps>(
  deps: Partial<DeploymentDeps>,
  key: K,
): NonNullable<DeploymentDeps[K]> {
  const d = deps[key];
  if (d === undefined || d === null) {
    throw ApplicationFailure.nonRetryable(
      `this worker has no ${String(key)} driver configured`,
      FAILURE_TYPES.driverNotConfigured,
    );
  }
  return d as NonNullable<DeploymentDeps[K]>;
}
