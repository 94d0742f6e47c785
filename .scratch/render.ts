import fs from "node:fs";
import { loadDataConverter } from "@temporalio/common/lib/internal-non-workflow";
import { temporal } from "@temporalio/proto";
import { decodeHistory } from "../client/deployment-history";
import { extractReport } from "../lib/report/extract";
import { chartAssets } from "../lib/report/assets";
import { renderReportHtml } from "../lib/report/html";
const [f, out] = process.argv.slice(2) as [string, string];
const h = temporal.api.history.v1.History.fromObject(JSON.parse(fs.readFileSync(f, "utf8")));
(async () => {
  const d = await decodeHistory(h, loadDataConverter(), { workflowId: "shipshape:shop:production", runId: "r" });
  fs.writeFileSync(out, renderReportHtml(extractReport(d), chartAssets(), { generatedAtMs: Date.now() }));
})();
