/**
 * Issue 21: a person scanning the Temporal Web UI's list sees which releases
 * failed. A rolled-back deployment closes as a failed workflow
 * (DeploymentRolledBack), a promoted one completes; the list, loaded in
 * headless Chromium from Debian, shows "Failed" on the first and "Completed"
 * on the second. Real Temporal dev server with its Web UI, the real workflow,
 * fake drivers (what the UI shows does not depend on them).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Client, Connection } from "@temporalio/client";
import { NativeConnection, Worker } from "@temporalio/worker";
import { chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createActivities } from "../../activities";
import { deploymentResult } from "../../client/deployment-result";
import { startTemporalDevServer, type TemporalDevServer } from "../../dev/services/temporal-dev-server";
import { devDataConverter } from "../../lib/codec/data-converter";
import { freePort } from "../../lib/runtime/free-port";
import { PROJECT_ROOT } from "../../lib/runtime/paths";
import { readManifest, requireTool } from "../../lib/runtime/toolchain-manifest";
import { bundleWorkflows } from "../../workers/workflow-bundle";
import { input, releaseConfig } from "../support/deployment-harness";
import { createFakes, type Fakes } from "../support/fakes";

let dir = "";
let temporal: TemporalDevServer;
let bundle: { code: string };

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "shipshape-ui-outcomes-"));
  [temporal, bundle] = await Promise.all([
    startTemporalDevServer({
      cliPath: readManifest().temporal.path,
      logFile: path.join(dir, "temporal.log"),
      uiPort: await freePort(),
    }),
    bundleWorkflows(),
  ]);
});

afterAll(async () => {
  await temporal?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** A short plan for real time: one 50% step, 1 s bakes and intervals. */
const FAST = releaseConfig({
  steps: [{ weight: 50, bake: "2s" }, { weight: 100 }],
  analysis: {
    interval: "1s",
    metrics: [{ name: "error-rate", provider: "router", query: "error_rate", max: "1%", critical: true }],
  },
  postPromotion: { watch: "1s", keepPrevious: "1s" },
});

async function deploy(workflowId: string, fakes: Fakes): Promise<string> {
  const connection = await NativeConnection.connect({ address: temporal.address });
  const clientConnection = await Connection.connect({ address: temporal.address });
  const client = new Client({ connection: clientConnection, dataConverter: devDataConverter() });
  const taskQueue = `ui-${workflowId}`;
  const worker = await Worker.create({
    connection,
    taskQueue,
    workflowBundle: bundle,
    dataConverter: devDataConverter(),
    activities: createActivities(fakes.deps),
  });
  try {
    return await worker.runUntil(async () => {
      const handle = await client.workflow.start("deploymentWorkflow", {
        taskQueue,
        workflowId,
        args: [input(FAST, { deploymentId: workflowId })],
      });
      return (await deploymentResult(handle)).outcome;
    });
  } finally {
    await connection.close();
    await clientConnection.close();
  }
}

describe("the Web UI tells the outcome at a glance", () => {
  it("lists a rolled-back deployment as Failed and a promoted one as Completed", async () => {
    expect(await deploy("ui-rolled-back", createFakes({ errorRate: (w) => (w === 50 ? 0.2 : 0.001) }))).toBe(
      "rolled-back",
    );
    expect(await deploy("ui-promoted", createFakes())).toBe("promoted");

    const profile = fs.mkdtempSync(path.join(os.tmpdir(), "shipshape-chromium-"));
    const browser = await chromium.launchPersistentContext(profile, {
      executablePath: requireTool("chromium").path,
      headless: true,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
      ],
    });
    try {
      const page = await browser.newPage();
      await page.goto(`${temporal.uiUrl}/namespaces/default/workflows`);
      await page.getByText("ui-promoted").first().waitFor({ timeout: 60_000 });
      await page.getByText("ui-rolled-back").first().waitFor({ timeout: 60_000 });
      await page.screenshot({
        path: path.join(PROJECT_ROOT, ".shipshape", "web-ui-outcomes.png"),
        fullPage: true,
      });
      // Each workflow's row in the list: its status is on the same row as its id.
      // biome-ignore lint/performance/useDomNodeTextContent: Playwright's innerText is what the page shows
      const failedRow = await page.locator("tr", { hasText: "ui-rolled-back" }).first().innerText();
      // biome-ignore lint/performance/useDomNodeTextContent: Playwright's innerText is what the page shows
      const promotedRow = await page.locator("tr", { hasText: "ui-promoted" }).first().innerText();
      // The status badge (shown in capitals).
      expect(failedRow).toMatch(/\bfailed\b/i);
      expect(failedRow).not.toMatch(/\bcompleted\b/i);
      expect(promotedRow).toMatch(/\bcompleted\b/i);
      expect(promotedRow).not.toMatch(/\bfailed\b/i);
    } finally {
      await browser.close();
      fs.rmSync(profile, { recursive: true, force: true });
    }
  });
});
