// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the config writes the literal ${env:NAME} syntax
/**
 * Notifications the way a user reaches them: a release config with a signed
 * webhook, a Slack-compatible webhook and a command sink, `shipshape deploy`
 * and `shipshape abort`, against a real Temporal dev server and a worker built
 * by createActivities (the real delivery activity; fake drivers for the rest).
 * The receivers are real HTTP servers on loopback; the webhook one fails its
 * first answers, so delivery must retry with the same idempotency key.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { NotificationSchema } from "../../../lib/notifications/payload";
import { SIGNATURE_HEADER, verifySignature } from "../../../lib/notifications/signature";
import { runCli as cli } from "../../support/cli";
import { type FakeDriverWorker, startFakeDriverWorker } from "../../support/fake-driver-worker";
import { type Receiver, startReceiver } from "../../support/notification-receiver";

const service = `notifyshop-${randomBytes(3).toString("hex")}`;
const taskQueue = `notify-${service}`;
const dir = path.join(inject("testStateDir"), "cli-notifications", service);
const configFile = path.join(dir, "shipshape.yaml");
// On a root worker the command sink runs as the instance user (nobody): it writes where anyone may.
const sinkOut = path.join(dir, "command-sink");
const commandLog = path.join(sinkOut, "events.log");
const SECRET = "integration-notification-secret";
let worker: FakeDriverWorker | undefined;
let webhook: Receiver;
let slack: Receiver;
/** A second webhook that only takes `finished`: made to hang, it keeps an ended run open. */
let lastWord: Receiver;

beforeAll(async () => {
  process.env.TEMPORAL_ADDRESS = inject("temporalAddress");
  webhook = await startReceiver();
  slack = await startReceiver();
  lastWord = await startReceiver();
  fs.mkdirSync(path.join(dir, "migrations"), { recursive: true });
  fs.mkdirSync(path.join(dir, "artifact"), { recursive: true });
  fs.mkdirSync(sinkOut, { recursive: true });
  fs.chmodSync(sinkOut, 0o777);
  fs.writeFileSync(path.join(dir, "artifact", "server.js"), `// ${service}\n`);
  fs.writeFileSync(
    configFile,
    `service: ${service}
run: { command: node server.js, instances: 1, healthPath: /health }
environments:
  production:
    target: local
    notifications:
      - type: webhook
        url: ${webhook.url}
        secret: "\${env:NOTIFY_SECRET}"
        timeout: 2s
      - type: slack
        url: "\${env:SLACK_URL}"
        events: [started, rolled-back, promoted, finished]
      - type: webhook
        url: ${lastWord.url}
        events: [finished]
        timeout: 1s
      - type: command
        command: 'printf "%s %s\\n" "$SHIPSHAPE_EVENT" "$(wc -c < "$SHIPSHAPE_EVENT_FILE")" >> ${commandLog}'
        events: [started, finished]
database: { url: "postgres://127.0.0.1:1/none", migrations: ./migrations }
release:
  verify:
    - http: { path: /health, expect: 200 }
  steps:
    - { weight: 50, bake: 2s }
    - { weight: 100, bake: 1s }
  postPromotion: { watch: 1s, keepPrevious: 1s }
`,
  );
  worker = await startFakeDriverWorker(taskQueue, { NOTIFY_SECRET: SECRET, SLACK_URL: slack.url });
});

afterAll(async () => {
  await worker?.stop();
  await webhook?.close();
  await slack?.close();
  await lastWord?.close();
});

/** Deploys (a previous run still sending its last notifications is waited for by the CLI). */
async function deploy(version: string): Promise<void> {
  const started = await cli(
    ...["deploy", "--service", service, "--version", version, "--env", "production"],
    ...["--config", configFile, "--task-queue", taskQueue, "--as", "alice"],
    ...["--artifact", path.join(dir, "artifact")],
  );
  expect(started.code, started.err).toBe(0);
}

async function until<T>(read: () => T, done: (v: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    const v = read();
    if (done(v)) return v;
    if (Date.now() > deadline) throw new Error(`never saw ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The accepted webhook payloads of one deployment, de-duplicated by id as a receiver must. */
function eventsOf(deploymentVersion: string) {
  const seen = new Map<string, ReturnType<typeof NotificationSchema.parse>>();
  for (const body of webhook.accepted()) {
    const n = NotificationSchema.parse(body);
    if (n.deployment.version === deploymentVersion) seen.set(n.id, n);
  }
  return [...seen.values()];
}

describe("notifications through the CLI", () => {
  it("a promoted deployment: every sink hears it, signed, in order, with retries under one id", async () => {
    // The webhook fails its first three answers: delivery retries them, in order.
    webhook.behave((i) => ({ kind: "answer", status: i < 3 ? 503 : 200 }));
    await deploy("v2");
    const events = await until(
      () => eventsOf("v2"),
      (e) => e.some((n) => n.event === "finished"),
      "the webhook's finished event",
    );
    expect(events[0]?.event).toBe("started");
    expect(events.at(-1)?.event).toBe("finished");
    expect(events.at(-1)?.details.outcome).toBe("promoted");
    const sequences = events.map((n) => n.sequence);
    expect(sequences).toEqual([...sequences].sort((a, b) => a - b));
    // (No analysis-verdict: this release has no analysis section.)
    for (const kind of ["phase-changed", "step-reached", "promoted"])
      expect(events.map((n) => n.event)).toContain(kind);
    // The first event was refused three times and sent again with the same id and body.
    const firstId = events[0]?.id;
    const attempts = webhook.received.filter((r) => JSON.parse(r.body).id === firstId);
    expect(attempts.map((r) => r.answered)).toEqual([503, 503, 503, 200]);
    for (const r of webhook.received) {
      const header = r.headers[SIGNATURE_HEADER.toLowerCase()];
      expect(verifySignature(SECRET, r.body, typeof header === "string" ? header : undefined)).toMatchObject({
        ok: true,
      });
    }

    const slackTexts = await until(
      () => slack.accepted().map((b) => String(b.text)),
      (t) => t.some((x) => x.includes("promoted")) && t.length >= 3,
      "Slack's promoted message",
    );
    expect(slackTexts.join("\n")).toContain(service);
    await until(
      () => (fs.existsSync(commandLog) ? fs.readFileSync(commandLog, "utf8") : ""),
      (t) => t.includes("finished"),
      "the command sink's finished line",
    );
    const lines = fs.readFileSync(commandLog, "utf8").trim().split("\n");
    expect(lines.map((l) => l.split(" ")[0])).toEqual(["started", "finished"]);
    for (const l of lines) expect(Number(l.split(" ")[1])).toBeGreaterThan(100);
  });

  it("an aborted deployment: rolled-back names the reason; the payloads before it carried the exact abort command", async () => {
    webhook.behave({ kind: "answer", status: 200 });
    // Its `finished` will hang at one sink: the run stays open after its outcome (next test).
    lastWord.behave({ kind: "hang" });
    await deploy("v3");
    await until(
      () => eventsOf("v3"),
      (e) => e.some((n) => n.event === "step-reached"),
      "the first traffic step",
    );
    const abort = await cli("abort", `${service}/production`, "--reason", "pager says no", "--as", "alice");
    expect(abort.code, abort.err).toBe(0);
    const events = await until(
      () => eventsOf("v3"),
      (e) => e.some((n) => n.event === "finished"),
      "the rollback's finished event",
    );
    const rolledBack = events.find((n) => n.event === "rolled-back");
    expect(rolledBack?.details.reason).toContain("pager says no");
    expect(rolledBack?.details.trippingMetric).toBeNull();
    expect(events.at(-1)?.details.outcome).toBe("rolled-back");
    // While it ran, the payloads carried the exact abort command.
    expect(events.find((n) => n.event === "step-reached")?.commands.abort).toContain(
      `shipshape abort ${service}/production`,
    );
  });

  it("a deploy while the previous run sends its last notifications waits for it, then starts", async () => {
    // v3 has ended (rolled back) but its `finished` hangs at one sink, retried: the run is still open.
    await until(
      () => lastWord.received.filter((r) => r.answered === "hung").length,
      (n) => n >= 2,
      "the hanging sink asked twice",
    );
    const next = cli(
      ...["deploy", "--service", service, "--version", "v4", "--env", "production"],
      ...["--config", configFile, "--task-queue", taskQueue, "--as", "alice"],
      ...["--artifact", path.join(dir, "artifact")],
    );
    await new Promise((r) => setTimeout(r, 3_000));
    // The sink comes back: v3's last event is delivered, its run closes, and v4 starts.
    lastWord.behave({ kind: "answer", status: 200 });
    const started = await next;
    expect(started.code, started.err).toBe(0);
    expect(started.err).toContain("is sending its last notifications; waiting for it");
    const finished = lastWord.accepted().map((b) => NotificationSchema.parse(b));
    expect(finished.map((n) => [n.event, n.deployment.version])).toContainEqual(["finished", "v3"]);
    await until(
      () => eventsOf("v4"),
      (e) => e.some((n) => n.event === "started"),
      "v4's started event",
    );
    const abort = await cli("abort", `${service}/production`, "--reason", "end of test", "--as", "alice");
    expect(abort.code, abort.err).toBe(0);
    await until(
      () => eventsOf("v4"),
      (e) => e.some((n) => n.event === "finished"),
      "v4's finished event",
    );
  });
});
