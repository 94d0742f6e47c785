// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these tests are about the literal ${env:NAME} syntax
/** The hook activity against real receivers on loopback and real commands. */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { type CallHookInput, createHookActivities } from "../../../activities/hooks";
import type { HookRequest } from "../../../lib/deployment/hook-request";
import { type Receiver, startReceiver } from "../../support/hook-receiver";

const SECRET = "s3cret-value-for-hooks";
const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((r) => r.close()));
});

const request: HookRequest = {
  schemaVersion: 1,
  hook: { name: "smoke", type: "pre-rollout" },
  callId: "dep-1:smoke:1",
  deployment: {
    deploymentId: "dep-1",
    service: "shop",
    environment: "production",
    version: "v2",
    previousVersion: "v1",
    artifactDigest: null,
    phase: "verifying-green",
    weights: { blue: 100, green: 0 },
    step: { index: 0, total: 2 },
    endpoint: "http://127.0.0.1:8080",
    requestedBy: "alice",
  },
  metadata: { team: "shop" },
};

function input(hook: CallHookInput["hook"], timeoutMs = 5_000): CallHookInput {
  return {
    key: { deploymentId: "dep-1", service: "shop", environment: "production", version: "v2" },
    name: "smoke",
    hook,
    timeoutMs,
    request,
  };
}

async function receiver(answer: Parameters<typeof startReceiver>[0]): Promise<Receiver> {
  const r = await startReceiver(answer, SECRET);
  open.push(r);
  return r;
}

describe("callHook: url", () => {
  it("POSTs the request signed with the secret resolved on the worker; 2xx is yes", async () => {
    const r = await receiver(() => ({ status: 202, text: "go" }));
    const { callHook } = createHookActivities({ env: { HOOK_SECRET: SECRET } });
    const answer = await callHook(
      input({ type: "pre-rollout", url: r.url, secret: "${env:HOOK_SECRET}", timeout: 5000, metadata: {} }),
    );
    expect(answer).toMatchObject({ ok: true, status: 202, text: "go" });
    expect(r.received).toHaveLength(1);
    expect(r.received[0]?.signature).toEqual({ ok: true });
    expect(r.received[0]?.request).toEqual(request);
    expect(r.received[0]?.callHeader).toBe("dep-1:smoke:1");
  });

  it("a non-2xx is a no, with what the receiver said, secrets redacted", async () => {
    const r = await receiver(() => ({ status: 503, text: `not yet (your secret is ${SECRET})` }));
    const { callHook } = createHookActivities({ env: { HOOK_SECRET: SECRET } });
    const answer = await callHook(
      input({ type: "pre-rollout", url: r.url, secret: "${env:HOOK_SECRET}", timeout: 5000, metadata: {} }),
    );
    expect(answer).toMatchObject({ ok: false, status: 503, text: "not yet (your secret is [redacted])" });
  });

  it("a signature made with another secret does not verify at the receiver", async () => {
    const r = await receiver(() => ({ status: 200 }));
    const { callHook } = createHookActivities({ env: { HOOK_SECRET: "another-secret" } });
    await callHook(
      input({ type: "pre-rollout", url: r.url, secret: "${env:HOOK_SECRET}", timeout: 5000, metadata: {} }),
    );
    expect(r.received[0]?.signature).toEqual({ ok: false, reason: "no v1 signature matches the body" });
  });

  it("an unset secret variable is a no naming the variable, and nothing is sent", async () => {
    const r = await receiver(() => ({ status: 200 }));
    const { callHook } = createHookActivities({ env: {} });
    const answer = await callHook(
      input({ type: "pre-rollout", url: r.url, secret: "${env:HOOK_SECRET}", timeout: 5000, metadata: {} }),
    );
    expect(answer).toMatchObject({ ok: false, status: null });
    expect(answer.text).toMatch(/environment variable HOOK_SECRET is not set/);
    expect(r.received).toHaveLength(0);
  });

  it("a receiver that hangs is no answer after the timeout; a refused connection is no answer", async () => {
    const server = http.createServer(() => {
      // never answers
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    open.push({
      close: () =>
        new Promise((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    });
    const { port } = server.address() as AddressInfo;
    const { callHook } = createHookActivities({ env: {} });
    const t0 = Date.now();
    const hung = await callHook(
      input({ type: "pre-rollout", url: `http://127.0.0.1:${port}/`, timeout: 300, metadata: {} }, 300),
    );
    expect(Date.now() - t0).toBeLessThan(3_000);
    expect(hung).toMatchObject({ ok: false, status: null });
    expect(hung.text).toMatch(/did not answer within 300 ms/);
    const refused = await callHook(
      input({ type: "pre-rollout", url: "http://127.0.0.1:1/", timeout: 1000, metadata: {} }, 1000),
    );
    expect(refused).toMatchObject({ ok: false, status: null });
    expect(refused.text).toMatch(/ECONNREFUSED|failed/);
  });
});

describe("callHook: command", () => {
  it("runs the command with the request in $SHIPSHAPE_HOOK_FILE; exit 0 is yes", async () => {
    const { callHook } = createHookActivities({
      env: { PATH: process.env.PATH, WORKER_TOKEN: "do-not-pass" },
    });
    const answer = await callHook(
      input({
        type: "pre-rollout",
        command:
          'grep -q \'"callId":"dep-1:smoke:1"\' "$SHIPSHAPE_HOOK_FILE" && echo "type=$SHIPSHAPE_HOOK_TYPE token=${WORKER_TOKEN:-none}"',
        timeout: 5000,
        metadata: {},
      }),
    );
    expect(answer).toMatchObject({ ok: true, status: 0, text: "type=pre-rollout token=none" });
  });

  it("a non-zero exit is a no with its output; a command past its timeout is killed", async () => {
    const { callHook } = createHookActivities({ env: { PATH: process.env.PATH } });
    const no = await callHook(
      input({
        type: "pre-rollout",
        command: "echo 'checkout smoke failed' >&2; exit 3",
        timeout: 5000,
        metadata: {},
      }),
    );
    expect(no).toMatchObject({ ok: false, status: 3, text: "checkout smoke failed" });
    const slow = await callHook(
      input({ type: "pre-rollout", command: "sleep 30", timeout: 300, metadata: {} }, 300),
    );
    expect(slow).toMatchObject({ ok: false, status: null });
    expect(slow.text).toMatch(/killed after 300 ms/);
  });
});
