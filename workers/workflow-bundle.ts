import fs from "node:fs";
import path from "node:path";
import { bundleWorkflowCode } from "@temporalio/worker";

export const WORKFLOWS_PATH = path.join(__dirname, "..", "workflows", "index.ts");

/**
 * Bundles the workflow code once and writes it to `outFile`; tests and the
 * demo start several workers and should not pay webpack each time.
 */
export async function writeWorkflowBundle(outFile: string): Promise<string> {
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: undefined });
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  fs.writeFileSync(outFile, code);
  return outFile;
}
