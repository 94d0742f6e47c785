import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { bundleWorkflowCode, NativeConnection, Worker } from "@temporalio/worker";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createActivities } from "../../../activities";
import { treeDigest } from "../../../lib/artifacts/content";
import { devDataConverter } from "../../../lib/codec/data-converter";
import { PROJECT_ROOT } from "../../../lib/runtime/paths";
import { WORKFLOWS_PATH } from "../../../workers/workflow-bundle";
import { runCli } from "../../support/cli";
import { createFakes } from "../../support/fakes";

/**
 * Every `shipshape` command against a real Temporal dev server, with
 * deployments driven into known states by a worker on fake drivers.
 */
const service = `clishop-${randomBytes(3).toString("hex")}`;
const taskQueue = `cli-${service}`;
const dir = path.join(inject("testStateDir"), "cli", service);
const configFile = path.join(dir, "shipshape.yaml");
let bundle: { code: string };
let connection: NativeConnection;
let worker: Worker | undefined;
let workerRun: Promise<void> | undefined;

async function startWorker(): Promise<void> {
  worker = await Worker.create({
    dataConverter: devDataConverter(),
    connection,
    taskQueue,
    workflowBundle: bundle,
    activities: createActivities(createFakes({ blueVersion: "v1" }).deps),
  });
  workerRun = worker.run();
}

async function stopWorker(): Promise<void> {
  worker?.shutdown();
  await workerRun;
  worker = undefined;
}

const cli = runCli;

async function statusOf(): Promise<{ phase: string; outcome: string | null }> {
  const r = await cli("status", `${service}/production`, "--json");
  expect(r.code, r.err).toBe(0);
  return JSON.parse(r.out);
}

async function waitForPhase(phase: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const s = await statusOf();
    if (s.phase === phase) return;
    if (Date.now() > deadline) throw new Error(`never reached ${phase}; last ${s.phase}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Each version's artifact folder: different content, so a different digest. */
function artifactOf(version: string): string {
  const folder = path.join(dir, "artifacts", version);
  fs.mkdirSync(folder, { recursive: true });
  fs.writeFileSync(path.join(folder, "server.js"), `// ${service} ${version}\n`);
  return folder;
}

function deployArgs(version: string, extra: string[] = []): string[] {
  return [
    "deploy",
    "--service",
    service,
    "--version",
    version,
    "--env",
    "production",
    "--config",
    configFile,
    "--task-queue",
    taskQueue,
    "--as",
    "alice",
    "--reason",
    `ship ${version}`,
    "--artifact",
    artifactOf(version),
    ...extra,
  ];
}

beforeAll(async () => {
  process.env.TEMPORAL_ADDRESS = inject("temporalAddress");
  fs.mkdirSync(path.join(dir, "migrations"), { recursive: true });
  fs.writeFileSync(
    configFile,
    `service: ${service}
run: { command: node server.js, instances: 1, healthPath: /health }
environments:
  production:
    target: local
    approvals: { approvers: [alice, bob], allowSelfApproval: false, timeout: 10m }
database: { url: "postgres://127.0.0.1:1/none", migrations: ./migrations }
release:
  verify:
    - http: { path: /health, expect: 200 }
  steps:
    - { weight: 50 }
    - approval: before-full-traffic
    - { weight: 100 }
  analysis:
    interval: 1s
    metrics:
      - { name: error-rate, provider: router, query: error_rate, max: 1%, critical: true }
  postPromotion: { watch: 1s, keepPrevious: 1s }
`,
  );
  connection = await NativeConnection.connect({ address: inject("temporalAddress") });
  bundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: undefined });
  await startWorker();
});

afterAll(async () => {
  await stopWorker();
  await connection?.close();
});

describe("shipshape CLI on a real dev server", () => {
  it("a bad config never starts a deployment: exit 2 with the validate report", async () => {
    const bad = path.join(dir, "bad.yaml");
    fs.writeFileSync(bad, fs.readFileSync(configFile, "utf8").replace("{ weight: 100 }", "{ wieght: 100 }"));
    const r = await cli(
      "deploy",
      "--service",
      service,
      "--version",
      "v9",
      "--config",
      bad,
      "--task-queue",
      taskQueue,
    );
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/bad\.yaml:\d+:\d+/);
    expect(r.err).toContain("did you mean `weight`?");
    expect(r.err).toContain("nothing was started");
    const list = await cli("list", "--service", service, "--json");
    expect(JSON.parse(list.out)).toEqual([]);
  });

  it("target: local needs an artifact folder or tarball that exists: exit 2, nothing started", async () => {
    const args = deployArgs("v9");
    const withoutArtifact = args.slice(0, args.indexOf("--artifact"));
    const r = await cli(...withoutArtifact);
    expect(r.code).toBe(2);
    expect(r.err).toContain("--artifact is required for production (target: local)");
    const missing = await cli(...withoutArtifact, "--artifact", path.join(dir, "no-such-build"));
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/artifact .*no-such-build does not exist/);
    const list = await cli("list", "--service", service, "--json");
    expect(JSON.parse(list.out)).toEqual([]);
  });

  it("deploy, refuse a second, approvals refused and granted, watch exits 0 on promotion", async () => {
    const started = await cli(...deployArgs("v2", ["--json"]));
    expect(started.code, started.err).toBe(0);
    const info = JSON.parse(started.out);
    expect(info.workflowId).toBe(`shipshape:${service}:production`);
    expect(info.webUi).toContain("/workflows/");
    expect(info.artifact).toBe(artifactOf("v2"));
    expect(info.artifactDigest).toBe(treeDigest(artifactOf("v2")));

    const second = await cli(...deployArgs("v3"));
    expect(second.code).toBe(2);
    expect(second.err).toContain(`shipshape:${service}:production`);
    expect(second.err).toContain("still running");
    expect(second.err).toContain(`shipshape watch ${service}/production`);

    await waitForPhase("awaiting-approval");
    const human = await cli("status", `${service}/production`);
    expect(human.out).toContain('waiting for approval "before-full-traffic" from alice or bob');

    const stranger = await cli("approve", `${service}/production`, "--as", "mallory");
    expect(stranger.code).toBe(2);
    expect(stranger.err).toContain("mallory is not an approver");
    const self = await cli("approve", `${service}/production`, "--as", "alice");
    expect(self.code).toBe(2);
    expect(self.err).toMatch(/self-approval/);
    const ok = await cli("approve", `${service}/production`, "--as", "bob", "--reason", "graphs fine");
    expect(ok.code, ok.err).toBe(0);
    expect(ok.out).toMatch(/^✓ /);

    const watched = await cli("watch", `${service}/production`, "--interval", "200");
    expect(watched.code).toBe(0);
    expect(watched.out).toContain("deployment ended: promoted");
    expect(watched.out.match(/^--- /gm)?.length ?? 0).toBeGreaterThan(0); // appended, not redrawn

    const status = await statusOf();
    expect(status.outcome).toBe("promoted");
    // What users hit and what they are on now, this deployment's digest, the migration it left active.
    const full = JSON.parse((await cli("status", `${service}/production`, "--json")).out);
    expect(full.endpoint).toBe(`http://${service}-production.test`);
    expect(full.serving).toEqual({ version: "v2", artifactDigest: "sha256:v2" });
    expect(full.artifactDigest).toBe("sha256:v2");
    expect(full.activeMigration).toBeNull();
    const decisions = (
      JSON.parse((await cli("status", `${service}/production`, "--json")).out) as {
        decisions: Array<{ kind: string; by: string; reason: string }>;
      }
    ).decisions;
    expect(decisions).toContainEqual(
      expect.objectContaining({ kind: "approve", by: "bob", reason: expect.stringContaining("graphs fine") }),
    );
  });

  it("redeploying the version already serving is refused: exit 2, nothing started (issue 16)", async () => {
    // visibility is eventually consistent: wait until the promotion of v2 is listed
    for (let i = 0; i < 50; i++) {
      const rows = JSON.parse((await cli("history", "--service", service, "--json")).out) as Array<{
        version: string;
        outcome: string;
      }>;
      if (rows.some((r) => r.version === "v2" && r.outcome === "promoted")) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const again = await cli(...deployArgs("v2"));
    expect(again.code).toBe(2);
    expect(again.err).toContain(`${service} v2 is already serving production`);
    expect(again.err).toContain("nothing started");
    expect(again.out).toBe("");
    // Nothing started: the last deployment is still the promoted v2 (the history test counts runs too).
    const status = await statusOf();
    expect(status.outcome).toBe("promoted");
  });

  it("abort rolls back and watch exits 1; refusals say why", async () => {
    const r = await cli(...deployArgs("v3"));
    expect(r.code, r.err).toBe(0);
    await waitForPhase("awaiting-approval");
    const noReason = await cli("abort", `${service}/production`);
    expect(noReason.code).toBe(2);
    expect(noReason.err).toContain("--reason");
    const abort = await cli("abort", `${service}/production`, "--as", "bob", "--reason", "wrong build");
    expect(abort.code, abort.err).toBe(0);
    const watched = await cli("watch", `${service}/production`, "--interval", "200");
    expect(watched.code).toBe(1);
    expect(watched.out).toContain("deployment ended: rolled-back");
    const again = await cli("resume", `${service}/production`, "--as", "bob");
    expect(again.code).toBe(2);
    expect(again.err).toContain("already ended (rolled-back)");
  });

  it("list, history and stats describe what happened", async () => {
    // visibility is eventually consistent
    let rows: Array<{ version: string; outcome: string }> = [];
    for (let i = 0; i < 50; i++) {
      rows = JSON.parse((await cli("history", "--service", service, "--json")).out);
      if (rows.length >= 2 && rows.every((r) => r.outcome !== "running")) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(rows.map((r) => `${r.version}:${r.outcome}`)).toEqual(["v3:rolled-back", "v2:promoted"]);
    const table = await cli("list", "--service", service);
    expect(table.out).toMatch(/^ID\s+SERVICE\s+ENV\s+VERSION\s+PHASE\s+OUTCOME/);
    const stats = JSON.parse((await cli("stats", "--service", service, "--json")).out);
    expect(stats.overall.deployments).toBe(2);
    expect(stats.overall.changeFailureRate).toBe(0.5);
    expect(stats.services[service].outcomes).toEqual({ promoted: 1, "rolled-back": 1 });
    expect(stats.overall.steps["provisioning-green"].count).toBe(2);
    const human = await cli("stats", "--service", service);
    expect(human.out).toContain("change failure rate 50.0%");
  });

  it("rollback redeploys the last good version through the normal plan", async () => {
    // v2 is the only promoted version, so there is nothing earlier to go back to
    const r = await cli("rollback", "--service", service, "--config", configFile);
    expect(r.code).toBe(2);
    expect(r.err).toContain("no earlier good version");
  });

  it("errors a person can act on: unknown deployment, unreachable Temporal", async () => {
    const unknown = await cli("status", "nope/production");
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain("`shipshape list`");
    const saved = process.env.TEMPORAL_ADDRESS;
    process.env.TEMPORAL_ADDRESS = "127.0.0.1:1";
    try {
      const down = await cli("list");
      expect(down.code).toBe(2);
      expect(down.err).toContain("cannot reach Temporal at 127.0.0.1:1 — start it with `npm run dev`");
    } finally {
      process.env.TEMPORAL_ADDRESS = saved;
    }
  });

  it("watch in a pseudo-terminal redraws in place and survives a worker restart", async () => {
    expect((await cli(...deployArgs("v4"))).code).toBe(0);
    await waitForPhase("awaiting-approval");
    // `script` gives the child a real PTY, so watch takes its TTY path.
    const child = spawn(
      "script",
      ["-qfec", `node bin/shipshape.cjs watch ${service}/production --interval 200`, "/dev/null"],
      { cwd: PROJECT_ROOT, env: { ...process.env }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let screen = "";
    child.stdout.on("data", (d) => {
      screen += String(d);
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
    const seen = async (text: string) => {
      const deadline = Date.now() + 30_000;
      while (!screen.includes(text)) {
        if (Date.now() > deadline) throw new Error(`never saw "${text}" in:\n${screen}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    await seen("waiting for approval");
    await stopWorker();
    await seen("no worker is answering");
    await startWorker();
    const ok = await cli("approve", `${service}/production`, "--as", "bob", "--reason", "after restart");
    expect(ok.code, ok.err).toBe(0);
    expect(await exited).toBe(0);
    expect(screen).toContain("deployment ended: promoted");
    const ESC = String.fromCharCode(27);
    expect(screen).toMatch(new RegExp(`${ESC}\\[\\d+A${ESC}\\[0J`)); // cursor up + clear: redrawn in place
  });

  it("rollback, once there is an earlier good version, redeploys it through the normal plan", async () => {
    // v4 (previous test) is live now; v2 was the good version before it.
    const r = await cli(
      "rollback",
      "--service",
      service,
      "--config",
      configFile,
      "--as",
      "alice",
      "--task-queue",
      taskQueue,
    );
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain(
      `rolling ${service} production back from v4 to v2 through the normal release plan`,
    );
    await waitForPhase("awaiting-approval"); // the same gates as any deployment: no shortcut
    expect((await cli("approve", `${service}/production`, "--as", "bob", "--reason", "rollback")).code).toBe(
      0,
    );
    const watched = await cli("watch", `${service}/production`, "--interval", "200");
    expect(watched.code).toBe(0);
    const status = JSON.parse((await cli("status", `${service}/production`, "--json")).out);
    expect(status.version).toBe("v2");
    expect(status.requestedBy).toBe("alice");
    // The artifact v2 ran from, not a new one (and not the version label as an artifact).
    expect(status.artifact).toBe(artifactOf("v2"));
  });
});
