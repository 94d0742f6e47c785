import fs from "node:fs";
import path from "node:path";
import { bundleWorkflowCode } from "@temporalio/worker";
import { FAILURE_CONVERTER_PATH } from "../lib/codec/data-converter";

export const WORKFLOWS_PATH = path.join(__dirname, "..", "workflows", "index.ts");

/** The workflow bundle every worker runs: the workflows and the project's failure converter. */
export function bundleWorkflows(): Promise<{ code: string }> {
  return bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    failureConverterPath: FAILURE_CONVERTER_PATH,
    logger: undefined,
  });
}

/**
 * Bundles the workflow code once and writes it to `outFile`; tests and the
 * demo start several workers and should not pay webpack each time.
 */
export async function writeWorkflowBundle(outFile: string): Promise<string> {
  const { code } = await bundleWorkflows();
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  fs.writeFileSync(outFile, code);
  return outFile;
}
