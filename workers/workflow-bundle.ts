import fs from "node:fs";
import path from "node:path";
import { bundleWorkflowCode } from "@temporalio/worker";
import { BUILD_OUTPUTS, staleness } from "../lib/runtime/build-stamp";
import { PROJECT_ROOT } from "../lib/runtime/paths";

/** The workflow sources, also when this module runs compiled from dist/. */
export const WORKFLOWS_PATH = path.join(PROJECT_ROOT, "workflows", "index.ts");

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

export interface WorkflowCodeChoice {
  /** The bundle to run; undefined: bundle WORKFLOWS_PATH at worker start. */
  bundle: string | undefined;
  /** Said in the worker's log, so which code runs is never a guess. */
  why: string;
}

/**
 * Which workflow code a worker runs: the bundle named by
 * SHIPSHAPE_WORKFLOW_BUNDLE (whoever set it built it), else the one
 * `npm run build` made when it was built from exactly the workflow sources
 * present, else none — the worker bundles the sources at start (slower, never
 * stale). A stale prebuilt bundle would run old workflow code, so it is never used.
 */
export function chooseWorkflowCode(
  env: NodeJS.ProcessEnv = process.env,
  root: string = PROJECT_ROOT,
): WorkflowCodeChoice {
  if (env.SHIPSHAPE_WORKFLOW_BUNDLE)
    return { bundle: env.SHIPSHAPE_WORKFLOW_BUNDLE, why: "SHIPSHAPE_WORKFLOW_BUNDLE" };
  const { artifact } = BUILD_OUTPUTS.workflowBundle;
  const stale = staleness(root, "workflowBundle");
  if (stale === null) return { bundle: path.join(root, artifact), why: "current build of the sources" };
  return { bundle: undefined, why: `${artifact} cannot be used: ${stale}` };
}
