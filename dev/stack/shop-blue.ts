import path from "node:path";
import { createLocalInfraDriver } from "../../infra/local/driver";
import { createLocalReleaseStore } from "../../infra/local/releases";
import type { PulumiSettings } from "../../infra/pulumi/settings";
import type { TrafficRouter } from "../../lib/drivers/traffic-router";
import { PROJECT_ROOT } from "../../lib/runtime/paths";

/** The sample shop's artifact folder: what every shop version runs from. */
export const SHOP_ARTIFACT = path.join(PROJECT_ROOT, "examples", "shop");

/** The database as a release config names it: the worker resolves it from its environment. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: a shipshape.yaml `${env:…}` reference, not a template
export const DATABASE_URL_REF = "${env:DATABASE_URL}";

/**
 * The release-config parts every harness-written shop config shares (chaos'
 * second service, the crash-point rig): how the shop runs on the local target
 * against the stack's database, and where its migrations are.
 */
export const SHOP_RELEASE_BASE = {
  run: {
    command: "node server.js",
    instances: 1,
    healthPath: "/health",
    startTimeout: "30s",
    env: { DATABASE_URL: DATABASE_URL_REF, SHOP_CONFIG: "config/app.json" },
  },
  database: { url: DATABASE_URL_REF, migrations: "./migrations" },
} as const;

/**
 * The sample shop's first version, started the way a deployment would start
 * it — its artifact staged as a release, then a local Pulumi stack running
 * from that release — and made blue on the router: where the demo and the
 * chaos suite begin. SHOP_AUTO_SCHEMA seeds the catalogue.
 */
export async function startShopAsBlue(options: {
  scope: { service: string; environment: string };
  version: string;
  databaseUrl: string;
  traffic: TrafficRouter;
  stateDir: string;
  pulumi: PulumiSettings;
}): Promise<{ urls: string[] }> {
  const ref = {
    deploymentId: `${options.scope.environment}-initial`,
    ...options.scope,
    version: options.version,
  };
  const artifact = await createLocalReleaseStore({ stateDir: options.stateDir }).stage(
    ref,
    SHOP_ARTIFACT,
    null,
  );
  const env = await createLocalInfraDriver({
    stateDir: options.stateDir,
    pulumi: options.pulumi,
  }).provisionEnvironment(
    ref,
    {
      run: {
        command: "node server.js",
        instances: 1,
        healthPath: "/health",
        startTimeout: 30_000,
        env: { DATABASE_URL: options.databaseUrl, SHOP_CONFIG: "config/app.json", SHOP_AUTO_SCHEMA: "1" },
      },
      env: {},
      artifact,
    },
    () => {},
  );
  const urls = env.instances.map((i) => i.url);
  await options.traffic.setBackends(options.scope, { blue: { version: options.version, instances: urls } });
  return { urls };
}
