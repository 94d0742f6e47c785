import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogNotifier } from "../../../activities/notify-log";
import { createHttpVerifyDriver } from "../../../activities/verify-http";
import { instanceUserFor } from "../../../infra/local/instance-user";
import { checkCommandEnvironment } from "../../../lib/config/check-env";
import { VerifyCheckSchema } from "../../../lib/config/schema";

let server: http.Server;
let url: string;
beforeAll(async () => {
  server = http.createServer((req, res) => {
    if (req.url === "/health") return void res.end("ok");
    if (req.url === "/api/products") return void res.end('{"items":[]}');
    if (req.url === "/echo-version" && req.headers["x-shipshape-version"])
      return void res.end(String(req.headers["x-shipshape-version"]));
    res.statusCode = 503;
    res.end("down");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const driver = createHttpVerifyDriver();
const check = (c: unknown) => VerifyCheckSchema.parse(c);
const noop = () => undefined;

describe("HTTP verify driver (real HTTP, twin of the fake verifier)", () => {
  it("passes a health check and a body check on every instance", async () => {
    expect((await driver.runCheck(check({ http: { path: "/health" } }), { urls: [url, url] }, noop)).ok).toBe(
      true,
    );
    const r = await driver.runCheck(
      check({ http: { path: "/api/products", bodyContains: '"items"' } }),
      { urls: [url] },
      noop,
    );
    expect(r).toMatchObject({ ok: true, name: "GET /api/products" });
  });

  it("fails with the instance and the status when green answers wrong", async () => {
    const r = await driver.runCheck(check({ http: { path: "/broken" } }), { urls: [url] }, noop);
    expect(r.ok).toBe(false);
    expect(r.detail).toMatch(/\/broken answered 503, expected 200/);
    const b = await driver.runCheck(
      check({ http: { path: "/health", bodyContains: "items" } }),
      { urls: [url] },
      noop,
    );
    expect(b.detail).toMatch(/does not contain "items"/);
  });

  it("runs smoke commands with $GREEN_URL and reports the exit code", async () => {
    expect(
      (await driver.runCheck(check({ command: `test "$GREEN_URL" = "${url}"` }), { urls: [url] }, noop)).ok,
    ).toBe(true);
    const r = await driver.runCheck(check({ command: "echo nope >&2; exit 3" }), { urls: [url] }, noop);
    expect(r).toMatchObject({ ok: false, detail: expect.stringMatching(/exit 3; output: nope/) });
  });

  it("smoke commands run in the allow-list plus run.env, never the worker's environment, and resolved secrets are redacted", async () => {
    const saved = { ...process.env };
    process.env.SHIPSHAPE_CODEC_KEYS = "k1:c2VjcmV0LWtleS1tYXRlcmlhbC0wMTIzNDU2Nzg5YWI=";
    process.env.SHIPSHAPE_ROUTER_TOKEN = "router-admin-9f8e7d";
    process.env.AWS_SECRET_ACCESS_KEY = "aws-worker-secret-777";
    process.env.SHOP_API_TOKEN = "tok-abcdef-123456";
    process.env.SHIPSHAPE_NAMESPACE = "default";
    try {
      const commandEnv = checkCommandEnvironment(
        { run: { env: { API_TOKEN: "${env:SHOP_API_TOKEN}", MODE: "smoke" } } },
        process.env,
      );
      const r = await driver.runCheck(
        check({
          command:
            'echo "keys=$SHIPSHAPE_CODEC_KEYS router=$SHIPSHAPE_ROUTER_TOKEN aws=$AWS_SECRET_ACCESS_KEY shop=$SHOP_API_TOKEN. api=$API_TOKEN mode=$MODE ns=$SHIPSHAPE_NAMESPACE path=${PATH:+set}"; exit 1',
        }),
        { urls: [url] },
        noop,
        commandEnv,
      );
      expect(r.detail).toContain(
        "output: keys= router= aws= shop=. api=[redacted] mode=smoke ns=default path=set",
      );
      expect(r.detail).not.toContain("tok-abcdef-123456");
      // Without a release's environment: the bare allow-list, still nothing of the worker's.
      const bare = await driver.runCheck(
        check({ command: 'echo "aws=$AWS_SECRET_ACCESS_KEY shop=$SHOP_API_TOKEN."; exit 1' }),
        { urls: [url] },
        noop,
      );
      expect(bare.detail).toContain("output: aws= shop=.");
    } finally {
      process.env = saved;
    }
  });

  it.runIf(process.getuid?.() === 0)(
    "on a root worker, smoke commands run as the instance user: no root, no worker-only file, a private HOME",
    async () => {
      const user = instanceUserFor({});
      expect(user).toBeDefined();
      const secretDir = fs.mkdtempSync(path.join(os.tmpdir(), "shipshape-worker-only-"));
      const tokenFile = path.join(secretDir, "process.json");
      fs.writeFileSync(tokenFile, '{"token":"router-admin-0c0ffee"}', { mode: 0o600 });
      try {
        const confined = createHttpVerifyDriver({ runAs: { uid: user!.uid, gid: user!.gid } });
        const r = await confined.runCheck(
          check({
            command: `echo "uid=$(id -u)"; cat ${tokenFile} 2>&1; echo note > "$HOME/note" && echo home-ok; exit 1`,
          }),
          { urls: [url] },
          noop,
        );
        expect(r.detail).toContain(`uid=${user!.uid}`);
        expect(r.detail).not.toContain("router-admin-0c0ffee");
        expect(r.detail).toMatch(/Permission denied/);
        expect(r.detail).toContain("home-ok");
      } finally {
        fs.rmSync(secretDir, { recursive: true, force: true });
      }
    },
  );

  it("load test: counts errors against maxErrorRate", async () => {
    const ok = await driver.loadTest!(
      { rps: 40, duration: 500, path: "/health", maxErrorRate: 0.01 },
      { urls: [url] },
      noop,
    );
    expect(ok).toMatchObject({ ok: true, detail: expect.stringMatching(/^20 requests, 0 errors/) });
    const bad = await driver.loadTest!(
      { rps: 40, duration: 250, path: "/broken", maxErrorRate: 0.01 },
      { urls: [url] },
      noop,
    );
    expect(bad).toMatchObject({ ok: false, detail: expect.stringMatching(/error rate 100.00% > 1.00%/) });
  });
});

describe("log notifier and local artifact store", () => {
  it("sends a keyed notification once", async () => {
    const lines: string[] = [];
    const n = createLogNotifier((l) => lines.push(l));
    const m = { key: "d1:promoted", deploymentId: "d1", event: "promoted", text: "shop v2 promoted" };
    expect(await n.send(m)).toEqual({ sent: true });
    expect(await n.send(m)).toEqual({ sent: false });
    expect(lines).toEqual(["[shipshape] d1 promoted: shop v2 promoted"]);
  });

  it("sends the headers that select green (AWS: the version rule's header)", async () => {
    const r = await driver.runCheck(
      check({ http: { path: "/echo-version", expect: 200, bodyContains: "v7" } }),
      { urls: [url], headers: { "X-Shipshape-Version": "v7" } },
      noop,
    );
    expect(r.ok, r.detail).toBe(true);
    const without = await driver.runCheck(
      check({ http: { path: "/echo-version", expect: 200 } }),
      { urls: [url] },
      noop,
    );
    expect(without.ok).toBe(false);
  });
});
