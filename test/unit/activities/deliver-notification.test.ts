// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these tests are about the literal ${env:NAME} syntax
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ApplicationFailure } from "@temporalio/common";
import { MockActivityEnvironment } from "@temporalio/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createDeliverNotificationActivities } from "../../../activities/deliver-notification";
import { createLogNotifier } from "../../../activities/notify-log";
import type { ActivityKey } from "../../../lib/deployment/types";
import type { DeliveryInput, DeliverySink } from "../../../lib/notifications/delivery";
import { NotificationSchema } from "../../../lib/notifications/payload";
import { SIGNATURE_HEADER, verifySignature } from "../../../lib/notifications/signature";
import { type Receiver, startReceiver } from "../../support/notification-receiver";
import { samplePayload } from "../lib/notifications/fixtures";

const SECRET = "s3cret-of-the-hook";
const key: ActivityKey = {
  deploymentId: "dep-1",
  service: "shop",
  environment: "production",
  version: "v2",
  target: { kind: "local" },
} as ActivityKey;

let receiver: Receiver;
const logLines: string[] = [];
const notifier = createLogNotifier((l) => logLines.push(l));
const env = { HOOK_SECRET: SECRET, PATH: process.env.PATH } as Record<string, string | undefined>;
let slackEnv: Record<string, string | undefined>;

beforeEach(async () => {
  receiver = await startReceiver();
  slackEnv = { ...env, SLACK_URL: receiver.url };
});
afterEach(async () => {
  await receiver.close();
});

function deliver(sink: DeliverySink, payload = samplePayload(), deps = env) {
  const acts = createDeliverNotificationActivities({
    targets: undefined as never,
    migrations: undefined as never,
    notifier,
    env: deps,
  });
  const input: DeliveryInput = { key, sinkIndex: 0, sink, payload };
  return new MockActivityEnvironment().run(acts.deliverNotification, input);
}

describe("deliverNotification: webhook", () => {
  it("POSTs the payload JSON signed with the resolved secret; the receiver verifies it", async () => {
    const r = await deliver({
      type: "webhook",
      url: receiver.url,
      secret: "${env:HOOK_SECRET}",
      timeout: 2000,
    });
    expect(r).toEqual({ delivered: true, detail: "200" });
    const [got] = receiver.received;
    const header = got?.headers[SIGNATURE_HEADER.toLowerCase()] as string;
    expect(verifySignature(SECRET, got?.body ?? "", header)).toMatchObject({ ok: true });
    expect(verifySignature("another-secret", got?.body ?? "", header).ok).toBe(false);
    expect(NotificationSchema.parse(JSON.parse(got?.body ?? ""))).toEqual(samplePayload());
  });

  it("a failing receiver makes the attempt throw (retryable); the retry carries the same idempotency key", async () => {
    const sink = { type: "webhook", url: receiver.url, secret: "${env:HOOK_SECRET}", timeout: 2000 } as const;
    receiver.behave({ kind: "answer", status: 503 });
    const err = await deliver(sink).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(ApplicationFailure); // a plain error: Temporal retries it
    expect((err as Error).message).toMatch(/answered 503/);
    receiver.behave({ kind: "answer", status: 200 });
    expect(await deliver(sink)).toEqual({ delivered: true, detail: "200" });
    expect(receiver.received.map((r) => [r.answered, JSON.parse(r.body).id])).toEqual([
      [503, "dep-1:7"],
      [200, "dep-1:7"],
    ]);
  });

  it("a 4xx answer is refused (not retried: it will not heal)", async () => {
    receiver.behave({ kind: "answer", status: 400 });
    const err = await deliver({ type: "webhook", url: receiver.url, timeout: 2000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err).toMatchObject({ type: "NotificationRefused", nonRetryable: true });
  });

  it("a receiver that hangs costs one timeout, then the attempt fails (to be retried)", async () => {
    receiver.behave({ kind: "hang" });
    const t0 = Date.now();
    const err = await deliver({ type: "webhook", url: receiver.url, timeout: 300 }).catch((e: unknown) => e);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect((err as Error).message).toMatch(/did not answer within 300 ms/);
    expect(receiver.received.map((r) => r.answered)).toEqual(["hung"]);
  });

  it("a secret that is not set on the worker is refused, naming the variable", async () => {
    const err = await deliver(
      { type: "webhook", url: receiver.url, secret: "${env:MISSING_SECRET}", timeout: 2000 },
      samplePayload(),
      { PATH: process.env.PATH },
    ).catch((e: unknown) => e);
    expect(err).toMatchObject({ type: "NotificationRefused", nonRetryable: true });
    expect((err as Error).message).toMatch(/MISSING_SECRET is not set/);
    expect(receiver.received).toEqual([]);
  });
});

describe("deliverNotification: slack", () => {
  it("sends { text, blocks } to the resolved URL; an error never shows the URL (it is the secret)", async () => {
    const sink = { type: "slack", url: "${env:SLACK_URL}", timeout: 2000 } as const;
    expect(await deliver(sink, samplePayload(), slackEnv)).toEqual({ delivered: true, detail: "200" });
    const body = JSON.parse(receiver.received[0]?.body ?? "{}");
    expect(body.text).toContain("rolled back");
    expect(JSON.stringify(body.blocks)).toContain("error-rate *  fail");
    expect(receiver.received[0]?.headers[SIGNATURE_HEADER.toLowerCase()]).toBeUndefined();
    receiver.behave({ kind: "answer", status: 500 });
    const err = (await deliver(sink, samplePayload(), slackEnv).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/answered 500/);
    await receiver.close();
    const down = (await deliver(sink, samplePayload(), slackEnv).catch((e: unknown) => e)) as Error;
    expect(down.message).toMatch(/failed/);
    expect(down.message).not.toContain(receiver.url);
    expect(down.message).toContain("[redacted]");
    receiver = await startReceiver(); // for afterEach
  });
});

describe("deliverNotification: command", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "notify-command-"));
    // A root worker runs the command as the instance user (nobody): let it write its evidence here.
    fs.chmodSync(dir, 0o777);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("runs the command with the payload in $SHIPSHAPE_EVENT_FILE; exit 0 = delivered, the file is removed after", async () => {
    const out = path.join(dir, "got.json");
    const command = `cp "$SHIPSHAPE_EVENT_FILE" ${out} && echo "$SHIPSHAPE_EVENT $SHIPSHAPE_EVENT_ID" > ${out}.env && echo "$SHIPSHAPE_EVENT_FILE" > ${out}.path`;
    expect(await deliver({ type: "command", command, timeout: 5000 })).toEqual({
      delivered: true,
      detail: "exit 0",
    });
    expect(NotificationSchema.parse(JSON.parse(fs.readFileSync(out, "utf8")))).toEqual(samplePayload());
    expect(fs.readFileSync(`${out}.env`, "utf8").trim()).toBe("rolled-back dep-1:7");
    expect(fs.existsSync(fs.readFileSync(`${out}.path`, "utf8").trim())).toBe(false);
  });

  it("a failing command throws with its output (retried); the worker's own environment is not passed", async () => {
    const err = (await deliver({
      type: "command",
      command: 'echo "secret=${HOOK_SECRET:-unset}"; exit 3',
      timeout: 5000,
    }).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/exited 3; output: secret=unset/);
  });
});

describe("deliverNotification: log", () => {
  it("writes one line to the worker log, once per idempotency key", async () => {
    logLines.length = 0;
    expect(await deliver({ type: "log" })).toEqual({ delivered: true, detail: "logged" });
    expect(await deliver({ type: "log" })).toEqual({ delivered: true, detail: "already logged" });
    expect(logLines).toEqual([`[shipshape] dep-1 rolled-back: ${samplePayload().summary}`]);
  });
});
