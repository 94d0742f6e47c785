/**
 * Fake drivers for workflow-logic tests. Every fake appends to one ordered
 * call log (`calls`), so tests assert exact orders (compensation order,
 * traffic before anything else). Faults are scripted per operation:
 *   faults.set("destroy", 2)         fail the next 2 calls, then succeed ("weight:50": that call only)
 *   faults.set("destroy", Infinity)  fail until the fault is cleared
 *   block.add("provision")           never return (until the activity is cancelled)
 * Metrics are scripted by the green weight the fake router currently applies
 * (`errorRate(weight)`), so "degrade at step k" is a function of the step's weight.
 */

import { Context } from "@temporalio/activity";
import type { DeploymentDeps } from "../../../activities";
import type { SigningPolicyDeps } from "../../../activities/signing-policy";
import { ArtifactError, type ArtifactStore } from "../../../lib/drivers/artifact-store";
import type { InfraDriver } from "../../../lib/drivers/infra-driver";
import type { MetricProvider } from "../../../lib/drivers/metric-provider";
import type { MigrationDriver } from "../../../lib/drivers/migration-driver";
import type { Notifier } from "../../../lib/drivers/notifier";
import type { Target } from "../../../lib/drivers/target";
import type { AppliedRoutes, BackendSpec, TrafficRouter } from "../../../lib/drivers/traffic-router";
import type { VerifyDriver } from "../../../lib/drivers/verifier";

export interface FakeOptions {
  /** The version currently serving (blue); null = first deployment. */
  blueVersion?: string | null;
  /** Does the artifact exist? */
  artifactExists?: boolean;
  /** Canary error rate by green weight (baseline is always 0.001). */
  errorRate?: (greenWeight: number) => number;
  /** Provider failure by green weight (returns an error message or null). */
  metricsError?: (greenWeight: number) => string | null;
  /** Verification verdict: false = green answers wrong (non-retryable VerificationFailed). */
  verifyOk?: boolean;
  /** Migration the version brings (null = none). */
  migration?: string | null;
  /**
   * The router metrics can be polled within an interval (MetricProvider.watchable),
   * as the real router's can. Off by default: a watch is an activity that runs for
   * the whole interval, and the time-skipping server does not skip time meanwhile.
   */
  watchable?: boolean;
}

export interface Fakes {
  calls: string[];
  faults: Map<string, number>;
  block: Set<string>;
  /** signingPolicy: the worker's pinned policy, when a test gives one (none: unsigned deployments only). */
  deps: DeploymentDeps & SigningPolicyDeps;
  /** Holds the next calls of `name` until the returned function is called. */
  hold(name: string): () => void;
  /** Side-effect calls only (no measurements or notifications). */
  effects(): string[];
  routes(): AppliedRoutes;
  /** The one target every environment gets. */
  target: Target;
}

/** A registry that answers every environment with the same target (workflow tests, benchmarks). */
export function singleTarget(target: Target): DeploymentDeps["targets"] {
  return { forSpec: () => target };
}

export function createFakes(options: FakeOptions = {}): Fakes {
  const calls: string[] = [];
  const faults = new Map<string, number>();
  const block = new Set<string>();
  const holds = new Map<string, Promise<void>>();
  const blueVersion = options.blueVersion === undefined ? "v1" : options.blueVersion;
  let routes: AppliedRoutes = {
    tableVersion: 1,
    split: blueVersion ? { blue: 100, green: 0 } : { blue: 0, green: 0 },
    backends: blueVersion ? { blue: { version: blueVersion, instances: ["http://blue:1"] } } : {},
  };

  async function op(name: string): Promise<void> {
    calls.push(name);
    // a fault or block matches the full label ("weight:50") or its prefix ("weight")
    const base = name.split(":")[0]!;
    const faultKey = faults.has(name) ? name : base;
    const left = faults.get(faultKey) ?? 0;
    if (left > 0) {
      faults.set(faultKey, left - 1);
      throw new Error(`injected failure in ${name}`);
    }
    // Blocked: hang until the activity is cancelled (abort, workflow cancel, worker shutdown).
    if (block.has(name) || block.has(base)) await Context.current().cancelled;
    const held = holds.get(name) ?? holds.get(base);
    if (held) await held;
  }

  const infra: InfraDriver = {
    async provisionEnvironment(ref) {
      await op(`provision:${ref.version}`);
      return {
        stackName: `${ref.service}-${ref.environment}-${ref.version}`,
        instances: [{ url: `http://green-${ref.version}:1` }],
        outputs: {},
        clearedLocks: 0,
        clearedPendingOperations: 0,
      };
    },
    async destroyEnvironment(ref) {
      await op(`destroy:${ref.version}`);
      return { existed: true };
    },
  };

  const router: TrafficRouter = {
    async setBackends(_scope, backends: { blue?: BackendSpec; green?: BackendSpec }) {
      const label = backends.green
        ? "attach"
        : backends.blue
          ? `backends:${backends.blue.version}`
          : "backends:none";
      await op(label);
      routes = { ...routes, tableVersion: routes.tableVersion + 1, backends };
      if (!backends.green) routes = { ...routes, split: { blue: backends.blue ? 100 : 0, green: 0 } };
      return routes;
    },
    async setWeights(_scope, split) {
      await op(`weight:${split.green}`);
      routes = { ...routes, tableVersion: routes.tableVersion + 1, split };
      return routes;
    },
    async getRoutes() {
      return routes;
    },
    async waitApplied() {
      return routes;
    },
  };

  const migrations: MigrationDriver = {
    async expand(_ref, _database, _migrations) {
      await op("expand");
      const migration = options.migration === undefined ? "002_add_sku" : options.migration;
      return { migration, versionSchema: migration ? `shop_${migration}` : null };
    },
    async contract(_ref, _database, migration) {
      await op(`contract:${migration}`);
      return { alreadyDone: false };
    },
    async rollback(_ref, _database, migration) {
      await op(`rollbackSchema:${migration ?? "unknown"}`);
      return { alreadyDone: false };
    },
  };

  const routerMetrics: MetricProvider = {
    name: "router",
    watchable: options.watchable ?? false,
    async measure(q) {
      calls.push(`measure:${q.metric.name}@${routes.split.green}`);
      const err = options.metricsError?.(routes.split.green) ?? null;
      if (err) return { metric: q.metric.name, canary: null, baseline: null, error: err };
      return {
        metric: q.metric.name,
        canary: options.errorRate ? options.errorRate(routes.split.green) : 0.001,
        baseline: 0.001,
        requests: { canary: 1000, baseline: 1000 },
      };
    },
  };

  const verifier: VerifyDriver = {
    async runCheck(check) {
      const name = "http" in check ? `http ${check.http.path}` : `command ${check.command}`;
      await op(`verify:${name}`);
      const ok = options.verifyOk ?? true;
      return { name, ok, detail: ok ? "200" : "503 Service Unavailable" };
    },
  };

  const notifier: Notifier = {
    async send(m) {
      calls.push(`notify:${m.event}`);
      return { sent: true };
    },
  };

  // Staging is idempotent: the second stage of a version (provision after preflight) is not a new effect.
  const staged = new Set<string>();
  const artifacts: ArtifactStore = {
    async stage(ref, artifact) {
      if (!staged.has(ref.version)) {
        await op(`artifact:${artifact}`);
        if (options.artifactExists === false)
          throw new ArtifactError("missing", `artifact ${artifact} does not exist`);
        staged.add(ref.version);
      }
      return { location: `/releases/${ref.version}`, digest: `sha256:${ref.version}` };
    },
    async digestOf(_service, version) {
      return `sha256:${version}`;
    },
  };

  const target: Target = {
    kind: "local",
    infra,
    router,
    verifier,
    metrics: { router: routerMetrics },
    artifacts,
    greenAddress: async (_ref, instances) => ({ urls: instances }),
    endpoint: async (scope) => `http://${scope.service}-${scope.environment}.test`,
  };

  return {
    calls,
    faults,
    block,
    target,
    deps: {
      targets: singleTarget(target),
      migrations,
      notifier,
      env: {},
    },
    hold(name) {
      let release: () => void = () => {};
      holds.set(
        name,
        new Promise<void>((r) => {
          release = r;
        }),
      );
      return () => {
        holds.delete(name);
        release();
      };
    },
    effects: () => calls.filter((c) => !c.startsWith("measure:") && !c.startsWith("notify:")),
    routes: () => routes,
  };
}
