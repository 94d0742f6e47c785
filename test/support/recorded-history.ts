/**
 * A committed DeploymentWorkflow history (test/fixtures/histories, recorded by
 * scripts/record-histories.ts, unencrypted) decoded the way `shipshape report`
 * decodes a fetched one (client/deployment-history.ts).
 */
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { loadDataConverter } from "@temporalio/common/lib/internal-non-workflow";
import { temporal } from "@temporalio/proto";
import { decodeHistory } from "../../client/deployment-history";
import type { DecodedHistory } from "../../lib/report/history-events";

export const HISTORIES_DIR = path.join(__dirname, "..", "fixtures", "histories");

export function recordedHistoryNames(): string[] {
  return fs
    .readdirSync(HISTORIES_DIR)
    .filter((f) => f.endsWith(".json"))
    .map((f) => path.basename(f, ".json"));
}

/** `name`.json, or `name`.json.gz for the long ones (a run of a long bake's chain). */
export async function recordedHistory(name: string): Promise<DecodedHistory> {
  const plain = path.join(HISTORIES_DIR, `${name}.json`);
  const raw = fs.existsSync(plain)
    ? fs.readFileSync(plain)
    : zlib.gunzipSync(fs.readFileSync(path.join(HISTORIES_DIR, `${name}.json.gz`)));
  const json = JSON.parse(raw.toString("utf8"));
  const history = temporal.api.history.v1.History.fromObject(json);
  return decodeHistory(history, loadDataConverter(), {
    workflowId: "shipshape:shop:production",
    runId: `run-${name}`,
  });
}
