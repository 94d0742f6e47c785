import { RouterClient } from "../../infra/local/router/client";
import type { MeasureRequest, MetricProvider } from "../../lib/drivers/metric-provider";
import { createRouterProvider } from "./router-provider";

/**
 * One worker serves many services, each behind its own local router: this
 * `router` provider finds the router of the request's service+environment
 * (through the same resolver the TrafficRouter uses) and reads its stats.
 * A router that cannot be found is an error measurement (counts toward
 * consecutiveErrorLimit), never a thrown exception.
 */
export function createScopedRouterProvider(
  resolve: (scope: { service: string; environment: string }) => { adminUrl: string; token: string },
): MetricProvider {
  return {
    name: "router",
    watchable: true,
    async measure(req: MeasureRequest) {
      let client: RouterClient;
      try {
        client = new RouterClient(resolve({ service: req.service, environment: req.environment }));
      } catch (err) {
        return {
          metric: req.metric.name,
          canary: null,
          baseline: null,
          error: `router for ${req.service}/${req.environment} not found: ${err instanceof Error ? err.message : String(err)}`,
        };
      }
      return createRouterProvider({ router: client }).measure(req);
    },
  };
}
