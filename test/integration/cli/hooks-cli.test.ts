// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the config writes the literal ${env:NAME} syntax
/**
 * Hooks and gates the way a user reaches them: a release config with hooks,
 * `shipshape deploy`, `shipshape status` (text and --json) and
 * `shipshape report --html`, against a real Temporal dev server and a worker
 * built by createActivities (the real hook activity; fake drivers for the
 * rest), calling a real receiver on loopback that checks the signature.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { runCli as cli } from "../../support/cli";
import { type FakeDriverWorker, startFakeDriverWorker } from "../../support/fake-driver-worker";
import { type Receiver, startReceiver } from "../../support/hook-receiver";

const service = `hookshop-${randomBytes(3).toString("hex")}`;
const taskQueue = `hooks-${service}`;
const dir = path.join(inject("testStateDir"), "cli-hooks", service);
const configFile = path.join(dir, "shipshape.yaml");
const SECRET = "integration-hook-secret";
let worker: FakeDriverWorker | undefined;
let gate: Receiver;
let confirmed = false;

beforeAll(async () => {
  process.env.TEMPORAL_ADDRESS = inject("temporalAddress");
  gate = await startReceiver(
    () =>
      confirmed ? { status: 200, text: "CHG-7 approved" } : { status: 409, text: "CHG-7 not approved yet" },
    SECRET,
  );
  fs.mkdirSync(path.join(dir, "migrations"), { recursive: true });
  fs.mkdirSync(path.join(dir, "artifact"), { recursive: true });
  fs.writeFileSync(path.join(dir, "artifact", "server.js"), `// ${service}\n`);
  fs.writeFileSync(
    configFile,
    `service: ${service}
run: { command: node server.js, instances: 1, healthPath: /health }
environments:
  production:
    target: local
    hooks:
      change-ticket:
        type: confirm-rollout
        url: ${gate.url}
        secret: "\${env:HOOK_SECRET}"
        interval: 500ms
        timeout: 5m
database: { url: "postgres://127.0.0.1:1/none", migrations: ./migrations }
release:
  verify:
    - http: { path: /health, expect: 200 }
  steps:
    - { weight: 50, bake: 1s }
    - { weight: 100, bake: 1s }
  postPromotion: { watch: 1s, keepPrevious: 1s }
`,
  );
  worker = await startFakeDriverWorker(taskQueue, { HOOK_SECRET: SECRET });
});

afterAll(async () => {
  await worker?.stop();
  await gate?.close();
});

async function statusJson(): Promise<{
  phase: string;
  outcome: string | null;
  hooks?: Array<{ state: string }>;
}> {
  const r = await cli("status", `${service}/production`, "--json");
  expect(r.code, r.err).toBe(0);
  return JSON.parse(r.out);
}

async function until(pred: (s: Awaited<ReturnType<typeof statusJson>>) => boolean, what: string) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const s = await statusJson();
    if (pred(s)) return s;
    if (Date.now() > deadline) throw new Error(`never reached ${what}; last ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe("hooks through the CLI", () => {
  it("a confirm-rollout gate shows in status while it waits, and the deployment goes on once it says yes", async () => {
    const started = await cli(
      ...["deploy", "--service", service, "--version", "v2", "--env", "production"],
      ...["--config", configFile, "--task-queue", taskQueue, "--as", "alice"],
      ...["--artifact", path.join(dir, "artifact")],
    );
    expect(started.code, started.err).toBe(0);
    await until((s) => s.phase === "awaiting-approval" && gate.received.length >= 2, "the gate polled twice");
    const text = await cli("status", `${service}/production`);
    expect(text.code, text.err).toBe(0);
    expect(text.out).toContain("hooks:");
    expect(text.out).toMatch(
      /⏸ confirm-rollout change-ticket: waiting .*, gives up in about .* \(onTimeout: abort\) \(\d+ calls\) — HTTP 409: CHG-7 not approved yet/,
    );
    const list = await cli("list", "--service", service, "--phase", "awaiting-approval", "--json");
    expect(JSON.parse(list.out)).toHaveLength(1);
    confirmed = true;
    const done = await until((s) => s.outcome !== null, "the end");
    expect(done.outcome).toBe("promoted");
    expect(done.hooks).toEqual([expect.objectContaining({ name: "change-ticket", state: "passed" })]);
    expect(gate.received.every((r) => r.signature?.ok)).toBe(true);
    expect(gate.received.at(-1)?.request.deployment).toMatchObject({
      service,
      version: "v2",
      phase: "awaiting-approval",
    });

    const html = path.join(dir, "report.html");
    const report = await cli("report", `${service}/production`, "--html", html);
    expect(report.code, report.err).toBe(0);
    const page = fs.readFileSync(html, "utf8");
    expect(page).toContain("Hooks and gates");
    expect(page).toContain("HTTP 409: CHG-7 not approved yet");
    expect(page).toContain("HTTP 200: CHG-7 approved");
  });
});
