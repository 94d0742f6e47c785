// Instances of the local target are code from the release: they get an
// allow-listed environment (never the worker's), and when the worker runs as
// root they run as an unprivileged user who cannot read the router's admin
// token, its routing table (the override token) or the worker's environment.
// Real parts: the local infra driver on the Pulumi CLI, the release store,
// the router process.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLocalInfraDriver } from "../../infra/local/driver";
import { createLocalReleaseStore } from "../../infra/local/releases";
import {
  ensureRouterProcess,
  type RouterProcessInfo,
  routerProcessDir,
  stopRouterProcess,
} from "../../infra/local/router-process";
import { devPulumiSettings } from "../../infra/pulumi/settings";
import type { ProvisionedEnvironment } from "../../lib/drivers/infra-driver";

const WORKER_SECRET = "worker-only-5c1e9a77";
const ROUTER_TOKEN = "router-admin-token-d41f0b2e93";
const RUN_SECRET = "run-env-db-password-77ab";
const root = process.getuid?.() === 0;

// The worker's environment, as the Pulumi engine and its provider inherit it.
const saved = { ...process.env };
process.env.WORKER_SECRET = WORKER_SECRET;
process.env.AWS_SECRET_ACCESS_KEY = WORKER_SECRET;
process.env.SHIPSHAPE_ROUTER_TOKEN = ROUTER_TOKEN;
process.env.SHIPSHAPE_CODEC_KEYS = WORKER_SECRET;

// An instance that answers what it sees: its environment, and what reading a file gives.
const SERVER = `
const http = require("node:http");
const fs = require("node:fs");
const path = require("node:path");
http.createServer((req, res) => {
  const u = new URL(req.url, "http://x");
  const json = (v) => { res.setHeader("content-type", "application/json"); res.end(JSON.stringify(v)); };
  if (u.pathname === "/health") return res.end("ok");
  if (u.pathname === "/env") return json(process.env);
  if (u.pathname === "/read") {
    try { return json({ ok: true, text: fs.readFileSync(u.searchParams.get("file"), "latin1") }); }
    catch (e) { return json({ ok: false, code: e.code }); }
  }
  if (u.pathname === "/write-home") {
    try { fs.writeFileSync(path.join(process.env.HOME, "note"), "mine"); return json({ ok: true }); }
    catch (e) { return json({ ok: false, code: e.code }); }
  }
  res.statusCode = 404; res.end();
}).listen(Number(process.env.PORT), "127.0.0.1");
`;

const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "shipshape-confine-"));
const scope = { service: "shop", environment: "confine" };
const ref = { deploymentId: "d-confine", ...scope, version: "v1" };
const driver = createLocalInfraDriver({ stateDir, pulumi: devPulumiSettings(stateDir) });
const progress = () => {};
let router: RouterProcessInfo;
let env: ProvisionedEnvironment;

async function ask<T>(what: string): Promise<T> {
  const res = await fetch(`${env.instances[0]?.url}${what}`);
  return (await res.json()) as T;
}

beforeAll(async () => {
  router = await ensureRouterProcess("shop-confine", { stateDir });
  const source = fs.mkdtempSync(path.join(os.tmpdir(), "shipshape-confine-src-"));
  fs.writeFileSync(path.join(source, "server.js"), SERVER);
  const staged = await createLocalReleaseStore({ stateDir }).stage(ref, source, null);
  fs.rmSync(source, { recursive: true, force: true });
  env = await driver.provisionEnvironment(
    ref,
    {
      artifact: staged,
      run: { command: "node server.js", instances: 1, healthPath: "/health", env: {}, startTimeout: 20_000 },
      env: { MODE: "fast", DB_PASSWORD: RUN_SECRET },
    },
    progress,
  );
});

afterAll(async () => {
  await driver.destroyEnvironment(ref, progress).catch(() => {});
  if (router) await stopRouterProcess("shop-confine", { purge: true, stateDir });
  process.env = { ...saved };
  fs.rmSync(stateDir, { recursive: true, force: true });
});

describe("local instances are confined", () => {
  it("see only the allow-list, their release's run.env and their own variables, none of the worker's", async () => {
    const seen = await ask<Record<string, string>>("/env");
    const text = JSON.stringify(seen);
    for (const secret of [WORKER_SECRET, ROUTER_TOKEN]) expect(text).not.toContain(secret);
    expect(seen.MODE).toBe("fast");
    expect(seen.DB_PASSWORD).toBe(RUN_SECRET);
    expect(seen.SHIPSHAPE_VERSION).toBe("v1");
    expect(seen.PATH).toContain("/usr/bin");
    const allowed = new Set(["PATH", "HOME", "LANG", "PORT", "MODE", "DB_PASSWORD"]);
    // sh may add PWD/SHLVL/_ of its own.
    const shells = new Set(["PWD", "OLDPWD", "SHLVL", "_"]);
    const extra = Object.keys(seen).filter(
      (k) => !allowed.has(k) && !shells.has(k) && !k.startsWith("SHIPSHAPE_"),
    );
    expect(extra).toEqual([]);
    expect(
      Object.keys(seen)
        .filter((k) => k.startsWith("SHIPSHAPE_"))
        .sort(),
    ).toEqual([
      "SHIPSHAPE_ARTIFACT_DIGEST",
      "SHIPSHAPE_ENVIRONMENT",
      "SHIPSHAPE_INSTANCE_HOME",
      "SHIPSHAPE_INSTANCE_KEY",
      "SHIPSHAPE_SERVICE",
      "SHIPSHAPE_VERSION",
    ]);
  });

  describe.runIf(root)("with the worker running as root", () => {
    it("run as an unprivileged user who cannot read the router's tokens or the worker's environment", async () => {
      const dir = routerProcessDir("shop-confine", stateDir);
      const tokenFile = path.join(dir, "process.json");
      // The files hold what they must not leak (the worker itself reads them).
      expect(fs.readFileSync(tokenFile, "utf8")).toContain(router.token);
      for (const file of [
        tokenFile,
        path.join(dir, "routes.json"),
        `/proc/${router.pid}/environ`,
        `/proc/${process.pid}/environ`,
      ]) {
        if (!fs.existsSync(file)) continue;
        const r = await ask<{ ok: boolean; code?: string; text?: string }>(
          `/read?file=${encodeURIComponent(file)}`,
        );
        expect({ file, ok: r.ok }).toEqual({ file, ok: false });
        expect(r.code).toBe("EACCES");
      }
      const status = fs.readFileSync(`/proc/${env.instances[0]?.pid}/status`, "utf8");
      expect(status).not.toMatch(/^Uid:\s+0\s/m);
    });

    it("still read their release and write their own folder", async () => {
      expect(await ask<{ ok: boolean }>("/write-home")).toEqual({ ok: true });
      const r = await ask<{ ok: boolean }>(`/read?file=${encodeURIComponent("server.js")}`);
      expect(r.ok).toBe(true);
    });
  });
});
