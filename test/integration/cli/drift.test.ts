/**
 * Drift detection and the promotion path, the way a platform engineer meets
 * them: the `shipshape` CLI against a real Temporal dev server and a worker
 * on the real local target (Pulumi stacks of processes, the HAProxy router
 * with its admin API). Drift is made by hand — a weight changed through the
 * router's admin API, the stack's resources edited, an instance killed — and
 * `shipshape drift` must report each (exit 1) and a clean state (exit 0);
 * production (`requires: { promotedIn: staging }`, `onDrift: fail`) refuses
 * a digest staging has not promoted, and refuses to deploy over drift, while
 * staging (`onDrift: warn`) deploys and records it.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { Client, Connection } from "@temporalio/client";
import { bundleWorkflowCode, NativeConnection, Worker } from "@temporalio/worker";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createActivities } from "../../../activities";
import { createLogNotifier } from "../../../activities/notify-log";
import { driftScheduleId } from "../../../client/drift-schedule";
import { deploymentWorkflowId } from "../../../client/start";
import { LOCAL_PROJECT, localStackName } from "../../../infra/local/program";
import { RouterClient } from "../../../infra/local/router/client";
import { readRouterProcess, resolveRouterName, stopRouterProcess } from "../../../infra/local/router-process";
import { devPulumiSettings, openStack } from "../../../infra/pulumi/workspace";
import { createTargets } from "../../../infra/targets";
import { devDataConverter } from "../../../lib/codec/data-converter";
import { NotificationSchema } from "../../../lib/notifications/payload";
import { processesOfStack } from "../../../scripts/demo/checks";
import { WORKFLOWS_PATH } from "../../../workers/workflow-bundle";
import type { DeploymentStatus } from "../../../workflows/deployment/state";
import { runCli } from "../../support/cli";
import { createFakes } from "../../support/fakes";
import { type Receiver, startReceiver } from "../../support/notification-receiver";
import { localDriver } from "../local/helpers";

const service = `drift-${randomBytes(3).toString("hex")}`;
const taskQueue = `drift-${service}`;
const dir = path.join(inject("testStateDir"), "drift", service);
const stateDir = path.join(dir, "state");
const configFile = path.join(dir, "shipshape.yaml");
const pulumi = devPulumiSettings(stateDir);
let connection: NativeConnection;
let client: Client;
let clientConnection: Connection;
let worker: Worker;
let workerRun: Promise<void>;
/** What the worker's notifier sent. */
const notified: string[] = [];
/** Production's webhook sink (drift-detected only). */
let webhook: Receiver;

/** A release: a tiny HTTP service that answers with its version. */
function artifactOf(version: string): string {
  const folder = path.join(dir, "artifacts", version);
  fs.mkdirSync(folder, { recursive: true });
  fs.writeFileSync(
    path.join(folder, "server.js"),
    `require("node:http").createServer((req, res) => res.end("${version}")).listen(Number(process.env.PORT), "127.0.0.1");\n`,
  );
  return folder;
}

const deploy = (version: string, env: string) =>
  runCli(
    "deploy",
    ...["--config", configFile, "--artifact", artifactOf(version), "--task-queue", taskQueue],
    ...["--service", service, "--env", env, "--version", version, "--as", "alice", "--watch"],
  );

const drift = (env: string) => runCli("drift", `${service}/${env}`, "--task-queue", taskQueue);

const stackOf = (env: string, version: string) =>
  localStackName({ service, environment: env, version }, stateDir);

function routerOf(env: string): RouterClient {
  const info = readRouterProcess(resolveRouterName({ service, environment: env }, stateDir), stateDir);
  if (!info) throw new Error(`no router for ${env}`);
  return new RouterClient({ adminUrl: info.adminUrl, token: info.token });
}

async function statusOf(env: string): Promise<DeploymentStatus> {
  return client.workflow.getHandle(deploymentWorkflowId(service, env)).query<DeploymentStatus>("status");
}

beforeAll(async () => {
  process.env.TEMPORAL_ADDRESS = inject("temporalAddress");
  fs.mkdirSync(stateDir, { recursive: true });
  webhook = await startReceiver();
  fs.writeFileSync(
    configFile,
    `service: ${service}
run:
  command: node server.js
  instances: 2
  healthPath: /health
  startTimeout: 20s
  env: { API_TOKEN: "\${env:DRIFT_TEST_TOKEN}", GREETING: literal-greeting-value }
environments:
  staging:
    target: local
  production:
    target: local
    onDrift: fail
    requires: { promotedIn: staging }
    notifications:
      - { type: webhook, url: "${webhook.url}", events: [drift-detected] }
release:
  verify:
    - http: { path: /health, expect: 200 }
  steps:
    - { weight: 100 }
  postPromotion: { watch: 1s, keepPrevious: 1s }
`,
  );
  connection = await NativeConnection.connect({ address: inject("temporalAddress") });
  clientConnection = await Connection.connect({ address: inject("temporalAddress") });
  client = new Client({ connection: clientConnection, dataConverter: devDataConverter() });
  worker = await Worker.create({
    dataConverter: devDataConverter(),
    connection,
    taskQueue,
    workflowBundle: await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: undefined }),
    activities: createActivities({
      targets: createTargets({ stateDir, pulumi, log: () => {} }),
      migrations: createFakes().deps.migrations,
      notifier: createLogNotifier((line) => notified.push(line)),
      env: { PATH: process.env.PATH, DRIFT_TEST_TOKEN: "drift-test-secret-4f2a" },
    }),
  });
  workerRun = worker.run();
}, 120_000);

afterAll(async () => {
  await webhook?.close();
  worker?.shutdown();
  await workerRun;
  await connection?.close();
  await clientConnection?.close();
  const { driver } = localDriver(stateDir);
  for (const environment of ["staging", "production"]) {
    for (const version of ["v1", "v2", "v3"])
      await driver.destroyEnvironment({ deploymentId: "cleanup", service, environment, version }, () => {});
    await stopRouterProcess(resolveRouterName({ service, environment }, stateDir), { purge: true, stateDir });
  }
}, 240_000);

describe("shipshape drift and requires.promotedIn on the real local target", () => {
  it("production refuses a digest staging has not promoted, then accepts it once staging has", {
    timeout: 300_000,
  }, async () => {
    const refused = await deploy("v1", "production");
    expect(refused.code, refused.out + refused.err).toBe(2);
    expect(refused.err).toContain("requires.promotedIn is staging");
    expect(refused.err).toContain("has never been promoted in staging");

    const staging = await deploy("v1", "staging");
    expect(staging.code, staging.out + staging.err).toBe(0);
    const production = await deploy("v1", "production");
    expect(production.code, production.out + production.err).toBe(0);
  });

  it("after a clean promotion there is no drift (exit 0)", { timeout: 120_000 }, async () => {
    const r = await drift("production");
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.out).toContain("no drift");
  });

  it("a weight changed through the router's admin API is reported (exit 1), and gone once restored", {
    timeout: 120_000,
  }, async () => {
    await routerOf("production").setRoutes({ weights: { blue: 40 } });
    const r = await drift("production");
    expect(r.code, r.out + r.err).toBe(1);
    expect(r.out).toMatch(/router weight of blue\s+100\s+40/);
    await routerOf("production").setRoutes({ weights: { blue: 100 } });
    expect((await drift("production")).code).toBe(0);
  });

  it("the stack's resources edited by hand (an instance removed from its state) are reported", {
    timeout: 120_000,
  }, async () => {
    const { stack } = await openStack(pulumi, {
      projectName: LOCAL_PROJECT,
      stackName: stackOf("production", "v1"),
      program: async () => ({}),
    });
    const original = await stack.exportStack();
    const edited = structuredClone(original) as { deployment: { resources: Array<{ type: string }> } };
    const resources = edited.deployment.resources;
    const last = resources.map((r) => r.type).lastIndexOf("pulumi-nodejs:dynamic:Resource");
    resources.splice(last, 1);
    await stack.importStack(edited as never);
    try {
      const r = await drift("production");
      expect(r.code, r.out + r.err).toBe(1);
      expect(r.out).toMatch(/stack \S+ instance count\s+2\s+1/);
    } finally {
      await stack.importStack(original);
    }
    expect((await drift("production")).code).toBe(0);
  });

  it("a killed instance is reported, and production (onDrift: fail) refuses to deploy over it", {
    timeout: 300_000,
  }, async () => {
    const [pid] = processesOfStack(stackOf("production", "v1"));
    expect(pid).toBeDefined();
    process.kill(pid!, "SIGKILL");
    const r = await drift("production");
    expect(r.code, r.out + r.err).toBe(1);
    expect(r.out).toContain("refresh would delete it");

    // v2 is promoted in staging (no drift there), so only the drift stands in production's way.
    const staging = await deploy("v2", "staging");
    expect(staging.code, staging.out + staging.err).toBe(0);
    const refused = await deploy("v2", "production");
    expect(refused.code, refused.out + refused.err).toBe(1);
    const s = await statusOf("production");
    expect(s.outcome).toBe("rolled-back");
    expect(s.outcomeReason).toContain("has drifted");
    expect(s.outcomeReason).toContain("refresh would delete it");
    // Nothing of v2 was provisioned in production.
    expect(processesOfStack(stackOf("production", "v2"))).toEqual([]);
  });

  it("staging (onDrift: warn) deploys over drift and records it in the status and decision log", {
    timeout: 300_000,
  }, async () => {
    const [pid] = processesOfStack(stackOf("staging", "v2"));
    process.kill(pid!, "SIGKILL");
    const r = await deploy("v3", "staging");
    expect(r.code, r.out + r.err).toBe(0);
    const s = await statusOf("staging");
    expect(s.outcome).toBe("promoted");
    expect(s.drift?.version).toBe("v2");
    expect(s.drift?.differences.map((d) => d.actual)).toContain("refresh would delete it");
    expect(s.decisions.find((d) => d.kind === "drift")?.reason).toContain("onDrift: warn");
  });

  it("parity lists what differs between staging and production, never a secret's value", {
    timeout: 120_000,
  }, async () => {
    const r = await runCli("parity", service, "staging", "production", "--task-queue", taskQueue);
    expect(r.code, r.out + r.err).toBe(1);
    // Effective: staging's onDrift is the default.
    expect(r.out).toMatch(/config environment\.onDrift\s+warn\s+fail/);
    expect(r.out).toMatch(/config environment\.requires\.promotedIn\s+\(not set\)\s+staging/);
    expect(r.out).toMatch(/promoted version\s+v3\s+v1/);
    expect(r.out).toMatch(/drift\s+none\s+\d+ difference\(s\)/);
    // The same config everywhere else: run.env is not a difference, and no value of it is printed.
    expect(r.out).not.toContain("run.env");
    expect(r.out + r.err).not.toContain("drift-test-secret-4f2a");
    const json = JSON.parse(
      (await runCli("parity", service, "staging", "production", "--json", "--task-queue", taskQueue)).out,
    );
    expect(json.same).toBe(false);
  });

  it("a Temporal Schedule checks for drift and notifies (--every), and is removed (--unschedule)", {
    timeout: 120_000,
  }, async () => {
    const made = await runCli("drift", `${service}/production`, "--every", "1h", "--task-queue", taskQueue);
    expect(made.code, made.out + made.err).toBe(0);
    const handle = client.schedule.getHandle(driftScheduleId(service, "production"));
    expect((await handle.describe()).spec.intervals?.[0]?.every).toBe(3_600_000);
    // Production still runs v1 with a killed instance: a scheduled check now notifies.
    await handle.trigger();
    const deadline = Date.now() + 90_000;
    while (!notified.some((l) => l.includes(`drift:${service}/production drift-detected:`))) {
      if (Date.now() > deadline) throw new Error(`no drift notification; sent: ${notified.join("\n")}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(notified.find((l) => l.includes(`drift:${service}/production`))).toContain(
      "refresh would delete it",
    );
    // The environment's webhook heard it too: the payload schema, with each difference.
    const heard = await waitFor(() => webhook.accepted()[0], "the webhook's drift-detected notification");
    const payload = NotificationSchema.parse(heard);
    expect(payload).toMatchObject({
      event: "drift-detected",
      deployment: { service, environment: "production" },
    });
    expect(payload.details.differences?.map((d) => d.actual)).toContain("refresh would delete it");
    const removed = await runCli("drift", `${service}/production`, "--unschedule");
    expect(removed.code).toBe(0);
    expect(removed.out).toContain("removed");
    await expect(handle.describe()).rejects.toThrow();
  });
});

async function waitFor<T>(read: () => T | undefined, what: string): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const v = read();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`never saw ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
