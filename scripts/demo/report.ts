/**
 * One HTML report per demo deployment (`shipshape report`'s page), written
 * where a successful demo does not delete it: <state>/demo/reports/run-<t>/.
 */
import fs from "node:fs";
import path from "node:path";
import { writeDeploymentReport } from "../../client/deployment-report";
import { deploymentWorkflowId } from "../../client/start";
import { SCOPE } from "./checks";
import type { DemoStack } from "./demo-stack";
import type { Followed } from "./follow";

/**
 * The reports folder of the demo run whose state is in `runDir`
 * (<state>/demo/run-<t>): beside it, since a demo that behaved deletes its run
 * folder — and computed from it, since the demo points SHIPSHAPE_STATE_DIR at it.
 */
export function reportsDir(runDir: string): string {
  return path.join(path.dirname(runDir), "reports", path.basename(runDir));
}

/** Writes the deployment's report and returns its path (null, with why, when it could not). */
export async function writeDemoReport(
  demo: DemoStack,
  f: Followed,
  index: number,
  say: (line: string) => void,
): Promise<string | null> {
  const dir = reportsDir(demo.dir);
  const version = f.status?.version ?? "deployment";
  const file = path.join(dir, `${index}-${version}.html`);
  try {
    fs.mkdirSync(dir, { recursive: true });
    // The run that carried it: a signed start names its own deployment id, which is not the run id.
    const workflowId = deploymentWorkflowId(SCOPE.service, SCOPE.environment);
    await writeDeploymentReport(demo.client, file, workflowId, f.runId);
    say(`  report: ${file}`);
    return file;
  } catch (err) {
    say(`  ✗ report not written: ${err instanceof Error ? err.message : String(err)}`);
    return null;
  }
}
