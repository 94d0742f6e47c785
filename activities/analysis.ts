import { Context } from "@temporalio/activity";
import type { Measurement } from "../lib/analysis/types";
import type { MetricProvider as MetricProviderName } from "../lib/config/schema";
import { ActivityKey } from "../lib/deployment/types";
import type { DeploymentDeps } from "./deployment-deps";

export interface CollectInput {
  key: ActivityKey;
  step: number;
  interval: number;
  baselineVersion: string | null;
  windowMs: number;
  metrics: Array<{ name: string; provider: string; query: string }>;
}

const MAX_ERROR = 200;

/**
 * Collects one interval's measurements from the metric providers. It only
 * measures: the judging and aggregation run in the workflow (lib/analysis), so
 * verdicts are deterministic and in history. A provider failure becomes a
 * Measurement with `error` (the analysis counts provider errors separately and
 * pauses rather than rolling back), so this activity does not fail for it.
 * Read-only, hence idempotent.
 */
export function createAnalysisActivities(deps: Partial<DeploymentDeps>) {
  return {
    async collectMeasurements(input: CollectInput): Promise<Measurement[]> {
      const key = ActivityKey.parse(input.key);
      const ctx = Context.current();
      const out: Measurement[] = [];
      for (const m of input.metrics) {
        ctx.heartbeat(`measuring ${m.name}`);
        const provider = deps.metrics?.[m.provider as MetricProviderName];
        if (!provider) {
          out.push({
            metric: m.name,
            canary: null,
            baseline: null,
            error: `provider ${m.provider} not configured`,
          });
          continue;
        }
        const version = (v: string) => m.query.replaceAll("$version", v);
        try {
          const r = await provider.measure({
            metric: m.name,
            query: version(key.version),
            service: key.service,
            environment: key.environment,
            baselineVersion: input.baselineVersion,
            canaryVersion: key.version,
            windowMs: input.windowMs,
          });
          out.push({ metric: m.name, ...r });
        } catch (err) {
          const message = err instanceof Error ? err.message : String(err);
          out.push({
            metric: m.name,
            canary: null,
            baseline: null,
            error: `${m.provider}: ${message}`.slice(0, MAX_ERROR),
          });
        }
      }
      return out;
    },
  };
}
