import path from "node:path";
import { localInfraDriver } from "../../infra/local/driver";
import type { TrafficRouter } from "../../lib/drivers/traffic-router";
import { PROJECT_ROOT } from "../../lib/runtime/paths";

/**
 * The sample shop's first version, started the way a deployment would start
 * it (a local Pulumi stack) and made blue on the router: where the demo and
 * the chaos suite begin. SHOP_AUTO_SCHEMA seeds the catalogue.
 */
export async function startShopAsBlue(options: {
  scope: { service: string; environment: string };
  version: string;
  databaseUrl: string;
  traffic: TrafficRouter;
}): Promise<{ urls: string[] }> {
  const env = await localInfraDriver.provisionEnvironment(
    { deploymentId: `${options.scope.environment}-initial`, ...options.scope, version: options.version },
    {
      run: {
        command: "node examples/shop/server.js",
        instances: 1,
        healthPath: "/health",
        startTimeout: 30_000,
        env: {
          DATABASE_URL: options.databaseUrl,
          SHOP_CONFIG: path.join(PROJECT_ROOT, "examples/shop/config/app.json"),
          SHOP_AUTO_SCHEMA: "1",
        },
      },
      env: {},
    },
    () => {},
  );
  const urls = env.instances.map((i) => i.url);
  await options.traffic.setBackends(options.scope, { blue: { version: options.version, instances: urls } });
  return { urls };
}
