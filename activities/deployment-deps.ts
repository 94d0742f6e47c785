import { ApplicationFailure } from "@temporalio/activity";
import { FAILURE_TYPES } from "../lib/deployment/types";
import type {
  ArtifactStore,
  InfraDriver,
  MigrationDriver,
  Notifier,
  TrafficRouter,
  VerifyDriver,
} from "./drivers";
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
