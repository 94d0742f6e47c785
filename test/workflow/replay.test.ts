import fs from "node:fs";
import path from "node:path";
import { temporal } from "@temporalio/proto";
import { Worker } from "@temporalio/worker";
import { describe, expect, it } from "vitest";
import { devDataConverter } from "../../lib/codec/data-converter";
import { bundleWorkflows } from "../../workers/workflow-bundle";

/**
 * Replays the committed DeploymentWorkflow histories (scripts/record-histories.ts)
 * through the current workflow code: a change that would break a running
 * deployment on upgrade fails here (wrap it in patched()). The histories were
 * recorded before payloads were encrypted: replaying them through the
 * project's data converter (AES-GCM codec) checks it passes them through.
 */
const DIR = path.join(__dirname, "..", "fixtures", "histories");
const files = fs.readdirSync(DIR).filter((f) => f.endsWith(".json"));

describe("replay of recorded DeploymentWorkflow histories", () => {
  it("has recorded scenarios", () => {
    expect(files.length).toBeGreaterThanOrEqual(8);
  });

  it("every history replays deterministically on the current code", async () => {
    const bundle = await bundleWorkflows();
    const histories = files.map((f) => ({
      workflowId: path.basename(f, ".json"),
      history: temporal.api.history.v1.History.fromObject(
        JSON.parse(fs.readFileSync(path.join(DIR, f), "utf8")),
      ),
    }));
    const results: Array<{ id: string; error: string | null }> = [];
    for await (const r of Worker.runReplayHistories(
      { workflowBundle: bundle, dataConverter: devDataConverter() },
      histories,
    )) {
      results.push({ id: r.workflowId, error: r.error ? String(r.error) : null });
    }
    expect(results).toHaveLength(files.length);
    expect(results.filter((r) => r.error !== null)).toEqual([]);
  });
});
