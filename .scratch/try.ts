import fs from "node:fs";
import { loadDataConverter } from "@temporalio/common/lib/internal-non-workflow";
import { temporal } from "@temporalio/proto";
import { decodeHistory } from "../client/deployment-history";
import { extractReport } from "../lib/report/extract";
const f = process.argv[2]!;
const json = JSON.parse(fs.readFileSync(f, "utf8"));
const h = temporal.api.history.v1.History.fromObject(json);
(async () => {
  const d = await decodeHistory(h, loadDataConverter(), { workflowId: "w", runId: "r" });
  const m = extractReport(d);
  console.log(JSON.stringify(m, null, 1).slice(0, Number(process.argv[3] ?? 6000)));
})();
