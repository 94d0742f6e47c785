/**
 * Shared setup of the DeploymentWorkflow tests: one time-skipping server and
 * one workflow bundle per test file, a fresh worker (with fresh fakes) per test.
 */
import { randomUUID } from "node:crypto";
import type { WorkflowHandle } from "@temporalio/client";
import type { DataConverter } from "@temporalio/common";
import type { TestWorkflowEnvironment } from "@temporalio/testing";
import { DefaultLogger, Runtime, Worker } from "@temporalio/worker";
import { createActivities } from "../../activities";
import { devDataConverter } from "../../lib/codec/data-converter";
import { type ReleaseConfig, type ReleaseConfigInput, ReleaseConfigSchema } from "../../lib/config/schema";
import { migrationBundleOf } from "../../lib/deployment/migration-bundle";
import type { DeploymentInput } from "../../lib/deployment/types";
import { bundleWorkflows } from "../../workers/workflow-bundle";
import type { deploymentWorkflow } from "../../workflows";
import { statusQuery } from "../../workflows/deployment/messages";
import type { DeploymentStatus } from "../../workflows/deployment/state";
import type { Fakes } from "./fakes";
import { createTimeSkippingEnv } from "./time-skipping";

export type Release = ReleaseConfigInput["release"];

/** A real, normalized release config (parsed by the real schema). */
export function releaseConfig(
  release: Partial<Release> = {},
  env: Record<string, unknown> = {},
): ReleaseConfig {
  return ReleaseConfigSchema.parse({
    service: "shop",
    run: { command: "node server.js", instances: 1 },
    environments: {
      production: {
        target: "local",
        approvals: { approvers: ["alice", "bob"], allowSelfApproval: false, timeout: "10m" },
        compensationAttentionAfter: "5m",
        ...env,
      },
    },
    database: { url: "postgres://localhost/shop", migrations: "./migrations" },
    release: {
      verify: [{ http: { path: "/health" } }],
      steps: [
        { weight: 10, bake: "30s" },
        { weight: 50, bake: "30s" },
        { weight: 100, bake: "30s" },
      ],
      analysis: {
        interval: "10s",
        metrics: [{ name: "error-rate", provider: "router", query: "error_rate", max: "1%", critical: true }],
      },
      postPromotion: { watch: "30s", keepPrevious: "1m" },
      ...release,
    },
  });
}

export interface Harness {
  env: TestWorkflowEnvironment;
  bundle: { code: string };
  /** The client's and every worker's (encrypted payloads unless told otherwise). */
  dataConverter: DataConverter;
}

export async function createHarness(options: { dataConverter?: DataConverter } = {}): Promise<Harness> {
  // Injected failures log a warning each; keep test output readable.
  Runtime.install({ logger: new DefaultLogger("ERROR") });
  const dataConverter = options.dataConverter ?? devDataConverter();
  const [env, bundle] = await Promise.all([createTimeSkippingEnv(dataConverter), bundleWorkflows()]);
  return { env, bundle, dataConverter };
}

export type DeploymentHandle = WorkflowHandle<typeof deploymentWorkflow>;

export interface RunContext {
  handle: DeploymentHandle;
  status(): Promise<DeploymentStatus>;
  /**
   * Polls the status query until the predicate holds. Time is NOT skipped
   * while the test polls (the time-skipping server only skips while a client
   * awaits a result), so configs reach the point of interest with zero bakes
   * and short real-time durations.
   */
  until(pred: (s: DeploymentStatus) => boolean, what: string): Promise<DeploymentStatus>;
  /** Real-time wait (no skipping) until the predicate holds: for activities in flight. */
  waitUntil(pred: () => boolean | Promise<boolean>, what: string): Promise<void>;
}

/** The release's migrations as the CLI sends them (the fake driver only counts calls). */
const MIGRATIONS = migrationBundleOf([
  {
    file: "002_add_sku.yaml",
    content: "operations:\n  - add_column: { table: products, column: { name: sku, type: text } }\n",
  },
]);

export function input(config: ReleaseConfig, overrides: Partial<DeploymentInput> = {}): DeploymentInput {
  return {
    service: "shop",
    environment: "production",
    version: "v2",
    artifact: "shop-v2.tgz",
    requestedBy: "alice",
    reason: "release 2",
    config,
    configDigest: "sha256:test",
    deploymentId: "dep-1",
    ...(config.database ? { migrations: MIGRATIONS } : {}),
    ...overrides,
  };
}

/**
 * Starts a worker with the fakes, starts the workflow and runs `body` while
 * the worker polls; returns the body's value.
 */
export async function withDeployment<T>(
  h: Harness,
  fakes: Fakes,
  wfInput: DeploymentInput,
  body: (ctx: RunContext) => Promise<T>,
  start?: (client: TestWorkflowEnvironment["client"], taskQueue: string) => Promise<DeploymentHandle>,
): Promise<T> {
  const taskQueue = `tq-${randomUUID()}`;
  const worker = await Worker.create({
    connection: h.env.nativeConnection,
    taskQueue,
    workflowBundle: h.bundle,
    dataConverter: h.dataConverter,
    activities: createActivities(fakes.deps),
    // Cancellation reaches activities through heartbeats: do not throttle them in tests.
    maxHeartbeatThrottleInterval: "200ms",
    defaultHeartbeatThrottleInterval: "200ms",
  });
  return worker.runUntil(async () => {
    const handle = start
      ? await start(h.env.client, taskQueue)
      : ((await h.env.client.workflow.start("deploymentWorkflow", {
          taskQueue,
          workflowId: `shipshape:${wfInput.service}:${wfInput.environment}:${taskQueue}`,
          args: [wfInput],
        })) as DeploymentHandle);
    const status = () => handle.query(statusQuery);
    const ctx: RunContext = {
      handle,
      status,
      async until(pred, what) {
        const deadline = Date.now() + 30_000;
        for (;;) {
          const s = await status();
          if (pred(s)) return s;
          if (Date.now() > deadline) throw new Error(`never reached: ${what} (phase ${s.phase})`);
          await new Promise((r) => setTimeout(r, 25));
        }
      },
      async waitUntil(pred, what) {
        const deadline = Date.now() + 30_000;
        while (!(await pred())) {
          if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
          await new Promise((r) => setTimeout(r, 20));
        }
      },
    };
    return body(ctx);
  });
}
