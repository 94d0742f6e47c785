// Secrets and config contents never sit readable in Temporal's history: every
// payload (inputs, results, failures, heartbeats) is AES-GCM encrypted by the
// clients and the worker, and a secret a check command prints is redacted
// before it even gets there. People still read everything through the codec
// server: the Temporal CLI with the bearer token, the Web UI by its loopback
// origin (headless Chromium, asserted on the page's text).
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTemporalDevServer, type TemporalDevServer } from "../../dev/services/temporal-dev-server";
import { freePort } from "../../lib/runtime/free-port";
import { PROJECT_ROOT } from "../../lib/runtime/paths";
import { type DetachedProcess, spawnDetached, stopGroup, tailLog } from "../../lib/runtime/process-group";
import { readManifest, requireTool } from "../../lib/runtime/toolchain-manifest";
import { writeWorkflowBundle } from "../../workers/workflow-bundle";
import { startWorkerProcess } from "../support/worker-process";
import { releaseYaml, shipshape, tempRepo } from "./helpers";

const run = promisify(execFile);
const SECRET = `sk-live-${randomBytes(8).toString("hex")}`;
const MARKER = `cfg-marker-${randomBytes(6).toString("hex")}`;
const TOKEN = randomBytes(24).toString("base64url");
const environment = `sec-${randomBytes(3).toString("hex")}`;
const taskQueue = `security-${environment}`;
const workflowId = `shipshape:shop:${environment}`;

const dir = tempRepo("history");
const saved = { ...process.env };
let temporal: TemporalDevServer;
let codecPort: number;
let codecServer: DetachedProcess | undefined;
let worker: DetachedProcess | undefined;
let runId = "";

/** True when `needle` is in the text, or in any base64 string of it decoded (payload data is base64). */
function mentions(json: string, needle: string): boolean {
  if (json.includes(needle)) return true;
  for (const m of json.matchAll(/"([A-Za-z0-9+/=_-]{16,})"/g)) {
    if (Buffer.from(m[1]!, "base64").toString("latin1").includes(needle)) return true;
  }
  return false;
}

/** `temporal workflow show` of the deployment's run, as JSON. */
const showHistory = () => ["workflow", "show", "-w", workflowId, "-r", runId, "--output", "json"];

async function temporalCli(...args: string[]) {
  return run(readManifest().temporal.path, [...args, "--address", temporal.address], { maxBuffer: 64 << 20 });
}

beforeAll(async () => {
  // A key of this test's own, the way an operator configures one.
  const keyFile = path.join(dir, "codec.keys");
  fs.writeFileSync(keyFile, `k-test:${randomBytes(32).toString("base64")}\n`, { mode: 0o600 });
  process.env.SHIPSHAPE_CODEC_KEYS = keyFile;
  process.env.SHIPSHAPE_CODEC_TOKEN = TOKEN;

  codecPort = await freePort();
  const uiPort = await freePort();
  temporal = await startTemporalDevServer({
    cliPath: readManifest().temporal.path,
    logFile: path.join(dir, "temporal.log"),
    uiPort,
    uiCodecEndpoint: `http://127.0.0.1:${codecPort}`,
  });
  process.env.TEMPORAL_ADDRESS = temporal.address;

  // The real worker process. Only its environment holds the secret the
  // config refers to; the person deploying does not have it.
  process.env.SHIPSHAPE_CONFIG_ROOTS = dir;
  process.env.SHOP_API_TOKEN = SECRET;
  try {
    worker = await startWorkerProcess({
      temporalAddress: temporal.address,
      taskQueue,
      stateDir: dir,
      workflowBundle: await writeWorkflowBundle(path.join(dir, "workflows.js")),
      logFile: path.join(dir, "worker.log"),
    });
  } finally {
    delete process.env.SHOP_API_TOKEN;
  }

  fs.writeFileSync(path.join(dir, "app.json"), '{"port": 8080}\n');
  const config = path.join(dir, "shipshape.yaml");
  fs.writeFileSync(
    config,
    releaseYaml(
      `  verify:\n    - http: { path: /health, bodyContains: "${MARKER}" }\nappConfig:\n  - file: ./app.json\n    check: '[ -z "$SHOP_API_TOKEN$API_TOKEN" ] && exit 0; echo "token=$SHOP_API_TOKEN/$API_TOKEN marker=${MARKER}"; exit 1'\n`,
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal ${env:NAME} syntax
      '  env: { API_TOKEN: "${env:SHOP_API_TOKEN}" }\n',
    ).replace("  production:\n", `  ${environment}:\n`),
  );
  const artifact = path.join(dir, "artifact");
  fs.mkdirSync(artifact, { recursive: true });
  fs.writeFileSync(path.join(artifact, "server.js"), "// never started: preflight refuses the config\n");
  const deploy = await shipshape(
    "deploy",
    "--artifact",
    artifact,
    "--service",
    "shop",
    "--version",
    "v2",
    "--env",
    environment,
    "--config",
    config,
    "--task-queue",
    taskQueue,
    "--as",
    "alice",
    "--reason",
    `ship ${MARKER}`,
    "--json",
  );
  expect(deploy.err).toBe("");
  runId = (JSON.parse(deploy.out) as { runId: string }).runId;
  // The preflight's check fails: the deployment ends before any side effect.
  const deadline = Date.now() + 120_000;
  for (;;) {
    const status = await shipshape("status", `shop/${environment}`, "--json");
    if (status.code === 0 && (JSON.parse(status.out) as { outcome?: string | null }).outcome) break;
    if (Date.now() > deadline) throw new Error(`the deployment did not end:\n${status.out}${status.err}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}, 240_000);

afterAll(async () => {
  if (worker) await stopGroup(worker);
  if (codecServer) await stopGroup(codecServer);
  await temporal?.stop();
  process.env = { ...saved };
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("encrypted history", () => {
  it("neither the secret nor the config's marker is in the stored history read raw", async () => {
    const { stdout } = await temporalCli(...showHistory());
    expect(stdout).toContain("EVENT_TYPE_WORKFLOW_EXECUTION_STARTED");
    expect(mentions(stdout, SECRET)).toBe(false);
    expect(mentions(stdout, MARKER)).toBe(false);
    // The payloads are there, encrypted (the encoding is in their metadata).
    expect(mentions(stdout, "binary/encrypted")).toBe(true);
  });

  it("the Temporal CLI reads everything through the codec server with the bearer token, and nothing without", async () => {
    codecServer = spawnDetached(
      process.execPath,
      [
        path.join(PROJECT_ROOT, "bin", "shipshape.cjs"),
        "codec-server",
        "--port",
        String(codecPort),
        "--ui-origin",
        temporal.uiUrl!,
      ],
      { logFile: path.join(dir, "codec-server.log"), cwd: PROJECT_ROOT, env: { ...process.env } },
    );
    const deadline = Date.now() + 30_000;
    while (!fs.readFileSync(path.join(dir, "codec-server.log"), "utf8").includes("codec server on")) {
      if (Date.now() > deadline || codecServer.child.exitCode !== null)
        throw new Error(`codec server did not start:\n${tailLog(path.join(dir, "codec-server.log"))}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const endpoint = `http://127.0.0.1:${codecPort}`;
    const show = [...showHistory(), "--codec-endpoint", endpoint];
    const { stdout } = await temporalCli(...show, "--codec-auth", `Bearer ${TOKEN}`);
    expect(mentions(stdout, MARKER)).toBe(true);
    // The check printed the secret: the failure shows it redacted.
    expect(mentions(stdout, "token=/[redacted]")).toBe(true);
    expect(mentions(stdout, SECRET)).toBe(false);

    await expect(temporalCli(...show)).rejects.toThrow(/401|Unauthorized|codec/i);
  });

  it("shipshape status shows the decoded outcome, with the secret redacted", async () => {
    const r = await shipshape("status", `shop/${environment}`, "--json");
    expect(r.code).toBe(0);
    expect(r.out).toContain(MARKER);
    expect(r.out).toContain("[redacted]");
    expect(r.out).not.toContain(SECRET);
  });

  it("the Web UI shows the decoded input through the codec server", async () => {
    const profile = fs.mkdtempSync(path.join(os.tmpdir(), "shipshape-chromium-"));
    const browser = await chromium.launchPersistentContext(profile, {
      executablePath: requireTool("chromium").path,
      headless: true,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    try {
      const page = await browser.newPage();
      await page.goto(
        `${temporal.uiUrl}/namespaces/default/workflows/${encodeURIComponent(workflowId)}/${runId}/history`,
      );
      await page.getByText(MARKER).first().waitFor({ timeout: 60_000 });
      // biome-ignore lint/performance/useDomNodeTextContent: Playwright's innerText is what the page shows
      const text = await page.locator("body").innerText();
      await page.screenshot({
        path: path.join(PROJECT_ROOT, ".shipshape", "security-web-ui.png"),
        fullPage: true,
      });
      expect(text).toContain(MARKER);
      expect(text).not.toContain(SECRET);
    } finally {
      await browser.close();
      fs.rmSync(profile, { recursive: true, force: true });
    }
  });
});
