/**
 * A committed DeploymentWorkflow history (test/fixtures/histories, recorded by
 * scripts/record-histories.ts, unencrypted) decoded the way `shipshape report`
 * decodes a fetched one (client/deployment-history.ts).
 */
import fs from "node:fs";
import path from "node:path";
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

export async function recordedHistory(name: string): Promise<DecodedHistory> {
  const json = JSON.parse(fs.readFileSync(path.join(HISTORIES_DIR, `${name}.json`), "utf8"));
  const history = temporal.api.history.v1.History.fromObject(json);
  return decodeHistory(history, loadDataConverter(), {
    workflowId: "shipshape:shop:production",
    runId: `run-${name}`,
  });
}
