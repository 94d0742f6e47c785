// TLS and API keys to Temporal through the standard environment config
// (TEMPORAL_ADDRESS, TEMPORAL_TLS_SERVER_CA_CERT_PATH, TEMPORAL_API_KEY). The
// dev server speaks plain gRPC, so HAProxy from Debian terminates TLS in front
// of it (h2 on both sides) and, like a cloud endpoint, refuses calls without
// the API key. The certificate is signed by a test CA made here by openssl.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTemporalDevServer, type TemporalDevServer } from "../../dev/services/temporal-dev-server";
import { useDevCodecKeys } from "../../lib/codec/data-converter";
import { freePort, waitForPort } from "../../lib/runtime/free-port";
import { PROJECT_ROOT } from "../../lib/runtime/paths";
import { type DetachedProcess, spawnDetached, stopGroup } from "../../lib/runtime/process-group";
import { readManifest, requireTool } from "../../lib/runtime/toolchain-manifest";
import { releaseYaml, tempRepo } from "./helpers";

const run = promisify(execFile);
const API_KEY = `key-${randomBytes(12).toString("hex")}`;
const dir = tempRepo("tls");
const caFile = path.join(dir, "ca.crt");
let temporal: TemporalDevServer;
let haproxy: DetachedProcess;
let tlsAddress: string;

/** `shipshape …` as a user runs it, with exactly the TEMPORAL_* variables given. */
async function shipshapeWith(env: Record<string, string>, ...args: string[]) {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("TEMPORAL_")));
  try {
    const r = await run(process.execPath, [path.join(PROJECT_ROOT, "bin", "shipshape.cjs"), ...args], {
      env: { ...base, ...env, NO_COLOR: "1" },
      timeout: 60_000,
    });
    return { code: 0, out: r.stdout, err: r.stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: err.code ?? -1, out: err.stdout ?? "", err: err.stderr ?? "" };
  }
}

beforeAll(async () => {
  useDevCodecKeys();
  temporal = await startTemporalDevServer({
    cliPath: readManifest().temporal.path,
    logFile: path.join(dir, "temporal.log"),
    uiPort: null,
  });
  // A test CA and a server certificate it signed, for localhost and 127.0.0.1.
  const openssl = (...args: string[]) => run(requireTool("openssl").path, args, { cwd: dir });
  await openssl(
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "1",
    "-subj",
    "/CN=shipshape test CA",
    "-keyout",
    "ca.key",
    "-out",
    caFile,
  );
  await openssl(
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-subj",
    "/CN=localhost",
    "-keyout",
    "server.key",
    "-out",
    "server.csr",
  );
  fs.writeFileSync(
    path.join(dir, "server.ext"),
    "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
  );
  await openssl(
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    caFile,
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-days",
    "1",
    "-extfile",
    "server.ext",
    "-out",
    "server.crt",
  );
  fs.writeFileSync(
    path.join(dir, "haproxy.pem"),
    ["server.crt", "server.key"].map((f) => fs.readFileSync(path.join(dir, f), "utf8")).join(""),
  );
  const port = await freePort();
  // By name, as a cluster address is (the certificate is for localhost and 127.0.0.1).
  tlsAddress = `localhost:${port}`;
  fs.writeFileSync(
    path.join(dir, "haproxy.cfg"),
    `global
  maxconn 100
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend temporal_tls
  bind 127.0.0.1:${port} ssl crt ${path.join(dir, "haproxy.pem")} alpn h2
  http-request deny deny_status 401 unless { req.hdr(authorization) -m str "Bearer ${API_KEY}" }
  default_backend temporal
backend temporal
  server dev ${temporal.address} proto h2
`,
  );
  haproxy = spawnDetached(requireTool("haproxy").path, ["-db", "-f", path.join(dir, "haproxy.cfg")], {
    logFile: path.join(dir, "haproxy.log"),
  });
  await waitForPort(port, 15_000);
}, 120_000);

afterAll(async () => {
  if (haproxy) await stopGroup(haproxy);
  await temporal?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("TLS and API key through the standard env config", () => {
  it("the CLI connects through the TLS terminator with the CA and the API key", async () => {
    const r = await shipshapeWith(
      { TEMPORAL_ADDRESS: tlsAddress, TEMPORAL_TLS_SERVER_CA_CERT_PATH: caFile, TEMPORAL_API_KEY: API_KEY },
      "list",
      "--json",
    );
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual(expect.any(Array));
  });

  it("without the CA it fails clearly: the certificate is not trusted", async () => {
    const r = await shipshapeWith(
      { TEMPORAL_ADDRESS: tlsAddress, TEMPORAL_API_KEY: API_KEY },
      "list",
      "--json",
    );
    expect(r.code).toBe(2);
    expect(r.err).toContain(`cannot reach Temporal at ${tlsAddress} over TLS`);
    expect(r.err).toContain("the server's certificate is not trusted");
    expect(r.err).toContain("set TEMPORAL_TLS_SERVER_CA_CERT_PATH");
  });

  it("without the API key the endpoint refuses the call", async () => {
    const r = await shipshapeWith(
      { TEMPORAL_ADDRESS: tlsAddress, TEMPORAL_TLS_SERVER_CA_CERT_PATH: caFile, TEMPORAL_TLS: "true" },
      "list",
      "--json",
    );
    expect(r.code).toBe(2);
    expect(r.err).toContain(`Temporal at ${tlsAddress} refused the credentials — check TEMPORAL_API_KEY`);
  });

  it("a deployment runs end to end over TLS: CLI start, the worker process, CLI status", async () => {
    fs.writeFileSync(path.join(dir, "app.json"), "{}\n");
    const config = path.join(dir, "shipshape.yaml");
    // The worker's preflight refuses this config (its check fails): a quick, complete run.
    fs.writeFileSync(config, releaseYaml("appConfig:\n  - file: ./app.json\n    check: 'exit 7'\n"));
    const env = {
      TEMPORAL_ADDRESS: tlsAddress,
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: caFile,
      TEMPORAL_API_KEY: API_KEY,
    };
    const taskQueue = `tls-${process.pid}`;
    const artifact = path.join(dir, "artifact");
    fs.mkdirSync(artifact, { recursive: true });
    fs.writeFileSync(path.join(artifact, "server.js"), "// never started: preflight refuses the config\n");
    const worker = spawnDetached(
      process.execPath,
      [
        path.join(PROJECT_ROOT, "bin", "shipshape.cjs"),
        "worker",
        "--dev",
        "--state-dir",
        dir,
        "--task-queue",
        taskQueue,
      ],
      {
        logFile: path.join(dir, "worker.log"),
        cwd: PROJECT_ROOT,
        env: {
          ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("TEMPORAL_"))),
          ...env,
          SHIPSHAPE_TASK_QUEUE: taskQueue,
          SHIPSHAPE_CONFIG_ROOTS: dir,
          SHIPSHAPE_STATE_DIR: dir,
          // Never connected to: the deployment workflow keeps no records in it.
          DATABASE_URL: "postgres://127.0.0.1:9/unused",
        },
      },
    );
    try {
      const deploy = await shipshapeWith(
        env,
        "deploy",
        "--service",
        "shop",
        "--version",
        "v2",
        "--config",
        config,
        "--artifact",
        artifact,
        "--task-queue",
        taskQueue,
        "--as",
        "alice",
        "--json",
      );
      expect(deploy.err).toBe("");
      const deadline = Date.now() + 120_000;
      let status: { outcome?: string | null; outcomeReason?: string | null } = {};
      while (!status.outcome && Date.now() < deadline && worker.child.exitCode === null) {
        await new Promise((r) => setTimeout(r, 1000));
        const s = await shipshapeWith(env, "status", "shop/production", "--json");
        if (s.code === 0) status = JSON.parse(s.out);
      }
      expect(status.outcome, fs.readFileSync(path.join(dir, "worker.log"), "utf8").slice(-3000)).toBe(
        "rolled-back",
      );
      expect(JSON.stringify(status)).toContain("exit code 7");
    } finally {
      await stopGroup(worker);
    }
  }, 240_000);
});
