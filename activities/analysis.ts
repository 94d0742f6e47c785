import { Context } from "@temporalio/activity";
import type { Measurement } from "../lib/analysis/types";
import { ActivityKey } from "../lib/deployment/types";
import type { MetricRequestSpec } from "../lib/drivers/metric-provider";
import { type DeploymentDeps, targetOf } from "./deployment-deps";
import { withHeartbeat } from "./heartbeat";
import { measureAll } from "./metrics/registry";

export interface CollectInput {
  key: ActivityKey;
  step: number;
  interval: number;
  baselineVersion: string | null;
  windowMs: number;
  metrics: Array<MetricRequestSpec & { provider: string }>;
}

/**
 * Collects one interval's measurements through the worker's metric providers
 * (activities/metrics). It only measures: judging and aggregation run in the
 * workflow (lib/analysis), so verdicts are deterministic and in history. A
 * provider failure is an error Measurement (the analysis pauses on repeated
 * provider errors rather than rolling back), so this activity does not fail
 * for it. Read-only, hence idempotent.
 */
export function createAnalysisActivities(deps: DeploymentDeps) {
  return {
    async collectMeasurements(input: CollectInput): Promise<Measurement[]> {
      const key = ActivityKey.parse(input.key);
      const ctx = Context.current();
      // Slow providers (a query timing out per side) must not look like a dead worker.
      return withHeartbeat(() =>
        measureAll(targetOf(deps, key).metrics, input.metrics, {
          canary: { version: key.version, backend: "green" },
          baseline: { version: input.baselineVersion, backend: "blue" },
          windowSeconds: Math.max(1, Math.round(input.windowMs / 1000)),
          service: key.service,
          environment: key.environment,
          signal: ctx.cancellationSignal,
        }),
      );
    },
  };
}
