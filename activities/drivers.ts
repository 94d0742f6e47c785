/**
 * The driver contracts every activity is built on (design.md: "a router driver
 * is one file implementing TrafficRouter; a metric provider is one file
 * implementing MetricProvider; an infra target is one folder in infra/").
 *
 * `createActivities(deps)` wraps these; workflow tests pass fakes, integration
 * tests and the worker pass the real local (and later AWS) implementations.
 * Every method must be idempotent: the activity layer retries after crashes.
 */

import type { z } from "zod";
import type { RunSchema } from "../lib/config/schema";

export type RunSpec = z.output<typeof RunSchema>;

/** Identifies one version environment of one service. Stack names derive from it. */
export interface VersionEnvironmentRef {
  deploymentId: string;
  service: string;
  environment: string;
  version: string;
}

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
}

export type Progress = (message: string) => void;

/** An infra target (infra/local, infra/aws): provisions and destroys one version environment. */
export interface InfraDriver {
  provisionEnvironment(
    ref: VersionEnvironmentRef,
    spec: { run: RunSpec; env: Record<string, string> },
    progress: Progress,
  ): Promise<ProvisionedEnvironment>;
  /** destroy + remove stack; resolves { existed: false } when already gone. */
  destroyEnvironment(ref: VersionEnvironmentRef, progress: Progress): Promise<{ existed: boolean }>;
}

export interface BackendSpec {
  version: string;
  instances: string[];
}

export interface TrafficSplit {
  /** Percentages 0..100 that sum to 100. */
  blue: number;
  green: number;
}

export interface AppliedRoutes {
  /** Monotonic version of the router's table after the change (unchanged when it was already applied). */
  tableVersion: number;
  split: TrafficSplit;
  backends: { blue?: BackendSpec; green?: BackendSpec };
}

/** The data plane for one service+environment (local weighted router, AWS ALB listener rule). */
export interface TrafficRouter {
  /** Registers/replaces the blue and green backends (green may be absent: blue only). */
  setBackends(
    scope: { service: string; environment: string },
    backends: { blue?: BackendSpec; green?: BackendSpec },
  ): Promise<AppliedRoutes>;
  setWeights(scope: { service: string; environment: string }, split: TrafficSplit): Promise<AppliedRoutes>;
  getRoutes(scope: { service: string; environment: string }): Promise<AppliedRoutes>;
  /**
   * Read-back: resolves once the data plane itself reports `tableVersion` (or
   * later) in effect — the bake clock starts only after this.
   */
  waitApplied(
    scope: { service: string; environment: string },
    tableVersion: number,
    timeoutMs: number,
  ): Promise<AppliedRoutes>;
}

// ----------------------------------------------------------------------------
// Added for DeploymentWorkflow (issue 4). Same rules: idempotent, keyed by the
// deployment (ref.deploymentId) and step.

/** Parallel-schema migrations of the service's database (lib/migrations engine behind it). */
export interface MigrationDriver {
  /**
   * Expand: start the version's pending migration (no-op when there is none
   * or it already started). Returns the migration name, or null when nothing to do.
   */
  expand(
    ref: VersionEnvironmentRef,
    progress: Progress,
  ): Promise<{ migration: string | null; versionSchema: string | null }>;
  /** Contract: complete the migration (old schema version removed). Idempotent. */
  contract(
    ref: VersionEnvironmentRef,
    migration: string,
    progress: Progress,
  ): Promise<{ alreadyDone: boolean }>;
  /**
   * Roll back the expansion (data written by the new version is renamed aside,
   * never dropped). Idempotent. `migration` null: whatever this deployment
   * (ref.deploymentId / ref.version) started, if anything — the compensation is
   * registered before expand returns, so a crash mid-expand is undone too.
   */
  rollback(
    ref: VersionEnvironmentRef,
    migration: string | null,
    progress: Progress,
  ): Promise<{ alreadyDone: boolean }>;
}

// Metric providers: `MetricProvider` in lib/analysis/provider.ts, built by
// activities/metrics/registry.ts (createMetricProviders).

export interface VerifyCheckResult {
  name: string;
  ok: boolean;
  detail: string;
}

/** Checks green directly (health, smoke, load test) before it gets traffic. */
export interface VerifyDriver {
  runCheck(
    check: import("../lib/config/schema").VerifyCheck,
    green: { urls: string[] },
    progress: Progress,
  ): Promise<VerifyCheckResult>;
  loadTest?(
    spec: import("../lib/config/schema").LoadTest,
    green: { urls: string[] },
    progress: Progress,
  ): Promise<VerifyCheckResult>;
}

/** Deployment notifications (chat, email, stdout). `key` makes a resend a no-op. */
export interface Notifier {
  send(message: {
    key: string;
    deploymentId: string;
    event: string;
    text: string;
  }): Promise<{ sent: boolean }>;
}

/** Where artifacts live; preflight asks whether the one being deployed exists. */
export interface ArtifactStore {
  exists(artifact: string): Promise<boolean>;
}
