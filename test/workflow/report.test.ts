// `shipshape report`'s data from a live Temporal history (time-skipping
// server, the real workflow, fake drivers): the payloads in history are
// encrypted and the report reads them through the client's codec; a running
// deployment's decisions come from the status query.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deploymentReport } from "../../client/deployment-report";
import { deploymentResult } from "../../client/deployment-result";
import { ENCODING } from "../../lib/codec/aes-gcm-codec";
import { abortUpdate, pauseUpdate } from "../../workflows/deployment/messages";
import { runCli } from "../support/cli";
import {
  createHarness,
  type Harness,
  input,
  releaseConfig,
  withDeployment,
} from "../support/deployment-harness";
import { createFakes } from "../support/fakes";

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h?.env.teardown();
});

describe("report from a live deployment's history", () => {
  it("decrypts the history: weights, the tripping metric, the stop and the recovery", async () => {
    const fakes = createFakes({ errorRate: (w) => (w === 50 ? 0.2 : 0.001) });
    const { m, encoding } = await withDeployment(h, fakes, input(releaseConfig()), async (ctx) => {
      await deploymentResult(ctx.handle);
      const raw = await ctx.handle.fetchHistory();
      const payload = raw.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
      return {
        m: await deploymentReport(h.env.client, ctx.handle.workflowId),
        encoding: Buffer.from(payload?.metadata?.encoding ?? new Uint8Array()).toString(),
      };
    });
    expect(encoding).toBe(ENCODING);
    expect(m).toMatchObject({ service: "shop", version: "v2", blueVersion: "v1", outcome: "rolled-back" });
    expect(m.weights.map((w) => w.green)).toEqual([0, 10, 50, 0, 0]);
    const points = m.metrics[0]!.points;
    expect(points.map((p) => p.verdict)).toEqual(["pass", "pass", "pass", "fail"]);
    expect(points.at(-1)).toMatchObject({ green: 0.2, weightPercent: 50, limitHigh: 0.01 });
    expect(m.decisions.map((d) => d.kind)).toEqual(["start", "analysis"]);
    expect(m.compensations.map((c) => c.status)).toEqual(["done", "done", "done"]);
    expect(m.recovery?.what).toBe("traffic back on v1");
    expect(m.recovery!.stoppedAtMs).toBe(points.at(-1)!.atMs);
  });

  it("decrypts failures too: a retried compensation's last error, a rollback before any traffic", async () => {
    const fakes = createFakes({ verifyOk: false });
    fakes.faults.set("destroy", 2);
    const m = await withDeployment(h, fakes, input(releaseConfig()), async (ctx) => {
      await deploymentResult(ctx.handle);
      return deploymentReport(h.env.client, ctx.handle.workflowId);
    });
    expect(m.outcome).toBe("rolled-back");
    expect(m.compensations.find((c) => c.name === "destroyGreen")).toMatchObject({
      status: "done",
      attempts: 3,
      lastError: "injected failure in destroy:v2",
    });
    expect(m.recovery?.what).toBe("rolled back");
  });

  it("a running deployment: the status query's decisions, the weight so far, no end", async () => {
    const fakes = createFakes();
    const config = releaseConfig({
      steps: [
        { weight: 10, bake: "1h" },
        { weight: 100, bake: "30s" },
      ],
    });
    await withDeployment(h, fakes, input(config), async (ctx) => {
      await ctx.until((s) => s.step.index === 1 && s.weights.green === 10, "step 1 at 10%");
      await ctx.handle.executeUpdate(pauseUpdate, {
        args: [{ by: "carol", reason: "looking at the graphs" }],
      });
      const m = await deploymentReport(h.env.client, ctx.handle.workflowId);
      expect(m.outcome).toBe("running");
      expect(m.endedAtMs).toBeNull();
      expect(m.decisions.map((d) => [d.kind, d.by, d.reason])).toEqual([
        ["start", "alice", "release 2"],
        ["pause", "carol", "looking at the graphs"],
      ]);
      expect(m.weights.at(-1)).toMatchObject({ green: 10, cause: "now" });
      expect(m.recovery).toBeNull();
      await ctx.handle.executeUpdate(abortUpdate, { args: [{ by: "carol", reason: "done looking" }] });
      await deploymentResult(ctx.handle);
    });
  });

  it("`shipshape report <id> --html` writes the page and says where; --json prints the model", async () => {
    const fakes = createFakes({ errorRate: (w) => (w === 50 ? 0.2 : 0.001) });
    const workflowId = await withDeployment(h, fakes, input(releaseConfig()), async (ctx) => {
      await deploymentResult(ctx.handle);
      return ctx.handle.workflowId;
    });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "shipshape-report-cli-"));
    const saved = process.env.TEMPORAL_ADDRESS;
    process.env.TEMPORAL_ADDRESS = h.env.address;
    try {
      const file = path.join(dir, "out.html");
      const html = await runCli("report", workflowId, "--html", file);
      expect(html.err).toBe("");
      expect(html.code).toBe(0);
      expect(html.out.trim()).toMatch(
        new RegExp(`^report written — shop/production v2 \\(rolled-back, time to recovery .+\\): ${file}$`),
      );
      const page = fs.readFileSync(file, "utf8");
      expect(page).toContain('<span id="outcome" class="o o-rolled-back">rolled-back</span>');
      expect(page).toContain("uPlot");

      const json = await runCli("report", workflowId, "--json");
      expect(json.code).toBe(0);
      const model = JSON.parse(json.out) as { outcome: string; metrics: Array<{ name: string }> };
      expect(model.outcome).toBe("rolled-back");
      expect(model.metrics.map((m) => m.name)).toEqual(["error-rate"]);

      const noRun = await runCli(
        "report",
        workflowId,
        "--run",
        "00000000-0000-4000-8000-000000000000",
        "--json",
      );
      expect(noRun.code).toBe(2);
      expect(noRun.err).toContain("no run 00000000-0000-4000-8000-000000000000 of");

      const neither = await runCli("report", workflowId);
      expect(neither.code).toBe(2);
      expect(neither.err).toContain("--html <file> or --json");
    } finally {
      if (saved === undefined) delete process.env.TEMPORAL_ADDRESS;
      else process.env.TEMPORAL_ADDRESS = saved;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
