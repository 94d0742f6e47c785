/**
 * The `local` target: versions run as process groups on this machine (one
 * Pulumi stack per version, driver.ts), each from its immutable release
 * folder (releases.ts), behind one local router per service and environment
 * that listens on the environment's `local.listen` address (a free port when
 * absent, then the same one across versions and restarts).
 */
import { createMetricProviders } from "../../activities/metrics/registry";
import { createScopedRouterProvider } from "../../activities/metrics/scoped-router-provider";
import { createHttpVerifyDriver } from "../../activities/verify-http";
import type { TargetSpec } from "../../lib/deployment/target-spec";
import type { Target } from "../../lib/drivers/target";
import type { TrafficRouter } from "../../lib/drivers/traffic-router";
import type { TargetContext } from "../target-context";
import { createLocalDriftInspector } from "./drift";
import { createLocalInfraDriver } from "./driver";
import { instanceUserFor } from "./instance-user";
import { createLocalReleaseStore } from "./releases";
import { RouterClient } from "./router/client";
import {
  ensureRouterProcess,
  legacyRouterNameFor,
  type RouterProcessInfo,
  resolveRouterName,
  routerResolver,
} from "./router-process";
import { createLocalTrafficRouter } from "./traffic-router";

type Scope = { service: string; environment: string };
type Spec = Extract<TargetSpec, { kind: "local" }>;

/** `host:port` of `local.listen` → its parts (the router binds the loopback interface). */
export function parseListen(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(":");
  return { host: listen.slice(0, i).replace(/^\[|\]$/g, ""), port: Number(listen.slice(i + 1)) };
}

/**
 * The router of each scope, started on first use (and restarted when it
 * died) on the listen port; calls for one scope wait for each other so two
 * activities never start it twice.
 */
function scopedRouters(ctx: TargetContext, spec: Spec) {
  const listen = spec.listen ? parseListen(spec.listen) : undefined;
  const pending = new Map<string, Promise<RouterProcessInfo>>();
  const ensure = (scope: Scope): Promise<RouterProcessInfo> => {
    // Keyed by the legacy name: scopes that could claim one router started by an
    // earlier release resolve (and claim) one after the other.
    const key = legacyRouterNameFor(scope);
    const previous = pending.get(key) ?? Promise.resolve(undefined);
    const next = previous
      .catch(() => undefined)
      .then(() =>
        ensureRouterProcess(resolveRouterName(scope, ctx.stateDir), {
          stateDir: ctx.stateDir,
          scope,
          ...(listen ? { port: listen.port } : {}),
        }).catch((err: Error) => {
          throw new Error(
            `the router of ${scope.service}/${scope.environment}${spec.listen ? ` on local.listen ${spec.listen}` : ""} cannot start: ${err.message}`,
          );
        }),
      );
    pending.set(key, next);
    return next;
  };
  const routerClient = async (scope: Scope): Promise<RouterClient> => {
    const info = await ensure(scope);
    return new RouterClient({ adminUrl: info.adminUrl, token: info.token, timeoutMs: 10_000 });
  };
  const router = async (scope: Scope): Promise<TrafficRouter> => {
    const info = await ensure(scope);
    return createLocalTrafficRouter({
      adminUrl: info.adminUrl,
      token: info.token,
      healthPath: spec.healthPath,
    });
  };
  const endpoint = async (scope: Scope): Promise<string> => {
    const info = await ensure(scope);
    const host = listen?.host;
    return host && !["127.0.0.1", "0.0.0.0", "localhost", "::", "::1"].includes(host)
      ? `http://${host}:${info.port}`
      : info.url;
  };
  const traffic: TrafficRouter = {
    setBackends: async (scope, backends) => (await router(scope)).setBackends(scope, backends),
    setWeights: async (scope, split) => (await router(scope)).setWeights(scope, split),
    getRoutes: async (scope) => (await router(scope)).getRoutes(scope),
    waitApplied: async (scope, v, ms) => (await router(scope)).waitApplied(scope, v, ms),
  };
  const routes = async (scope: Scope) => (await routerClient(scope)).getRoutes();
  return { traffic, endpoint, routes };
}

function runAsInstanceUser(): { runAs?: { uid: number; gid: number } } {
  const user = instanceUserFor(process.env);
  return user ? { runAs: { uid: user.uid, gid: user.gid } } : {};
}

export function createLocalTarget(ctx: TargetContext, spec: Spec): Target {
  const routers = scopedRouters(ctx, spec);
  const artifacts = createLocalReleaseStore({ stateDir: ctx.stateDir });
  return {
    kind: "local",
    infra: createLocalInfraDriver({ stateDir: ctx.stateDir, pulumi: ctx.pulumi }),
    router: routers.traffic,
    // Smoke commands are the release's code, like its instances: on a root worker they run as the instance user.
    verifier: createHttpVerifyDriver(runAsInstanceUser()),
    metrics: createMetricProviders({
      ...(ctx.prometheusUrl ? { prometheus: { url: ctx.prometheusUrl } } : {}),
      httpJson: {},
      // Each service+environment has its own router: the provider finds the request's.
      extra: { router: createScopedRouterProvider(routerResolver(ctx.stateDir)) },
    }),
    artifacts,
    greenAddress: async (_ref, instances) => ({ urls: instances }),
    endpoint: routers.endpoint,
    drift: createLocalDriftInspector({
      stateDir: ctx.stateDir,
      pulumi: ctx.pulumi,
      artifacts,
      routes: routers.routes,
    }),
  };
}
