/**
 * The data plane for one service+environment (local weighted router, AWS ALB
 * listener rule): one file in infra/<target>/ implements it.
 */

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
