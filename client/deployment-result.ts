// The result of a deployment workflow, whichever way it closed: a promoted
// (or needs-attention) run completes with its DeploymentResult; a rolled-back
// run fails with a DeploymentRolledBack failure that carries the same result
// as its detail (workflows/deployment/workflow.ts), so the Web UI lists it as
// failed. Runs recorded before that change complete with outcome rolled-back.

import { WorkflowFailedError, type WorkflowHandle } from "@temporalio/client";
import { ApplicationFailure } from "@temporalio/common";
import { type DeploymentResult, FAILURE_TYPES } from "../lib/deployment/types";

/** The DeploymentResult a rolled-back run failed with, or null for any other error. */
export function rolledBackResult(err: unknown): DeploymentResult | null {
  if (!(err instanceof WorkflowFailedError)) return null;
  const cause = err.cause;
  if (!(cause instanceof ApplicationFailure) || cause.type !== FAILURE_TYPES.rolledBack) return null;
  const detail = cause.details?.[0];
  return detail && typeof detail === "object" ? (detail as DeploymentResult) : null;
}

/** Waits for the run to close and returns its DeploymentResult (rolled back included); other failures throw. */
export async function deploymentResult(handle: WorkflowHandle): Promise<DeploymentResult> {
  try {
    return (await handle.result()) as DeploymentResult;
  } catch (err) {
    const result = rolledBackResult(err);
    if (result) return result;
    throw err;
  }
}
