import { ApplicationFailure, Context } from "@temporalio/activity";
import { ActivityKey, ALREADY_SERVING, type BlueInfo } from "../lib/deployment/types";
import type { TrafficSplit } from "../lib/drivers/traffic-router";
import { type DeploymentDeps, targetOf } from "./deployment-deps";

const scopeOf = (k: ActivityKey) => ({ service: k.service, environment: k.environment });

/**
 * Traffic activities. Idempotent by construction: they set absolute state
 * (backends, weights), never increments, and read the router back before
 * returning (the bake clock starts only once the data plane applies a change).
 */
export function createTrafficActivities(deps: DeploymentDeps) {
  async function apply(key: ActivityKey, split: TrafficSplit, timeoutMs: number) {
    const scope = scopeOf(key);
    const router = targetOf(deps, key).router;
    const applied = await router.setWeights(scope, split);
    Context.current().heartbeat(`waiting for table version ${applied.tableVersion}`);
    return router.waitApplied(scope, applied.tableVersion, timeoutMs);
  }

  return {
    /** Registers green next to the current blue with 0% traffic; returns blue (null on a first deployment). */
    async attachGreen(input: { key: ActivityKey; green: string[] }): Promise<{ blue: BlueInfo | null }> {
      const key = ActivityKey.parse(input.key);
      const scope = scopeOf(key);
      const router = targetOf(deps, key).router;
      const current = await router.getRoutes(scope);
      // This activity never makes its own version blue (only finalizeRoutes does, after which
      // nothing is compensated), so a blue of this version is what users were on before the
      // deployment: attaching next to it would detach it. Preflight refuses this case already.
      if (current.backends.blue?.version === key.version) {
        throw ApplicationFailure.nonRetryable(
          `${key.version} is already serving ${key.service}/${key.environment}: refusing to attach it as green, which would detach what users are on`,
          ALREADY_SERVING,
        );
      }
      // On a retry, the backends we set ourselves are already there: blue stays blue.
      const blue = current.backends.blue;
      const split: TrafficSplit = blue ? { blue: 100, green: 0 } : { blue: 0, green: 0 };
      await router.setBackends(scope, {
        ...(blue ? { blue } : {}),
        green: { version: key.version, instances: input.green },
      });
      if (blue) await apply(key, split, 30_000);
      return { blue: blue ? { version: blue.version, instances: blue.instances } : null };
    },

    /**
     * Step k: green gets `greenPercent`, confirmed by the data plane. On a
     * first deployment there is no blue to keep the rest: green is the only
     * backend and serves everything from the first step.
     */
    async setTrafficWeight(input: { key: ActivityKey; step: number; greenPercent: number }) {
      const key = ActivityKey.parse(input.key);
      const routes = await targetOf(deps, key).router.getRoutes(scopeOf(key));
      const green = routes.backends.blue ? input.greenPercent : 100;
      const applied = await apply(key, { blue: 100 - green, green }, 60_000);
      return { tableVersion: applied.tableVersion, split: applied.split };
    },

    /**
     * Compensation: all traffic back to blue, green detached. No-op when already so.
     * `blue` is what attachGreen saw; when attach never returned (it failed or
     * crashed), blue is read back from the router — never guessed as "none",
     * which would take the serving version out of the data plane. Whatever
     * version the router's blue has, it is the one serving before this
     * deployment (only finalize makes this version blue, and finalize is never
     * compensated), so it is restored, never removed.
     */
    async restoreTrafficToBlue(input: { key: ActivityKey; blue: BlueInfo | null }) {
      const key = ActivityKey.parse(input.key);
      const scope = scopeOf(key);
      const router = targetOf(deps, key).router;
      const current = await router.getRoutes(scope);
      const routed = current.backends.blue;
      const blue = input.blue ?? (routed ? { version: routed.version, instances: routed.instances } : null);
      if (blue) {
        await apply(key, { blue: 100, green: 0 }, 60_000);
        await router.setBackends(scope, { blue: { version: blue.version, instances: blue.instances } });
      } else {
        // First deployment: nothing to fall back to; take green out of the data plane.
        await router.setBackends(scope, {});
      }
      return { restored: true, blueVersion: blue?.version ?? null };
    },

    /** After the keep window: green becomes the only (blue) backend. */
    async finalizeRoutes(input: { key: ActivityKey; green: string[] }) {
      const key = ActivityKey.parse(input.key);
      const applied = await targetOf(deps, key).router.setBackends(scopeOf(key), {
        blue: { version: key.version, instances: input.green },
      });
      return { tableVersion: applied.tableVersion };
    },
  };
}
