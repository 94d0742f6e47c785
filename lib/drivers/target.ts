/**
 * A target: everything a deployment needs from the place where versions run.
 * One folder per kind in infra/ builds it (infra/local/target.ts,
 * infra/aws/target.ts) and infra/targets.ts picks the builder by the
 * environment's `target:`. Activities never choose drivers themselves: they
 * ask the registry for the target of the deployment's environment.
 */
import type { TargetSpec } from "../deployment/target-spec";
import type { ArtifactStore } from "./artifact-store";
import type { VersionEnvironmentRef } from "./common";
import type { DriftInspector } from "./drift-inspector";
import type { InfraDriver } from "./infra-driver";
import type { MetricProviders } from "./metric-provider";
import type { TrafficRouter } from "./traffic-router";
import type { GreenAddress, VerifyDriver } from "./verifier";

export interface Target {
  readonly kind: TargetSpec["kind"];
  infra: InfraDriver;
  router: TrafficRouter;
  verifier: VerifyDriver;
  metrics: MetricProviders;
  artifacts: ArtifactStore;
  /** Where verification reaches green, given the instances provisionEnvironment returned. */
  greenAddress(ref: VersionEnvironmentRef, instances: string[]): Promise<GreenAddress>;
  /** The URL users hit for the service in this environment (its stable public address), once known. */
  endpoint(scope: { service: string; environment: string }): Promise<string | null>;
  /** Drift detection (`shipshape drift`, `onDrift`); absent: this target cannot be checked. */
  drift?: DriftInspector;
}

/** The worker's targets: one per environment spec, built on first use. */
export interface TargetRegistry {
  forSpec(spec: TargetSpec): Target;
}
