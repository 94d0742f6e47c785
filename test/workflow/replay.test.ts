import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
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
 * Long histories (thousands of events) are kept gzipped (.json.gz).
 */
const DIR = path.join(__dirname, "..", "fixtures", "histories");
const files = fs.readdirSync(DIR).filter((f) => f.endsWith(".json") || f.endsWith(".json.gz"));

function readHistory(file: string): Record<string, unknown> {
  const raw = fs.readFileSync(path.join(DIR, file));
  return JSON.parse((file.endsWith(".gz") ? zlib.gunzipSync(raw) : raw).toString("utf8"));
}

describe("replay of recorded DeploymentWorkflow histories", () => {
  it("has recorded scenarios", () => {
    expect(files.length).toBeGreaterThanOrEqual(8);
  });

  it("every history replays deterministically on the current code", async () => {
    const bundle = await bundleWorkflows();
    const histories = files.map((f) => ({
      workflowId: f.replace(/\.json(\.gz)?$/, ""),
      history: temporal.api.history.v1.History.fromObject(readHistory(f)),
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
