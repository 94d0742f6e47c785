/**
 * driftCheckWorkflow: one drift check on the worker that has the environment's
 * drivers (`shipshape drift`, `shipshape parity`, and a Temporal Schedule when
 * one is set up). The recorded state comes with the input (the client reads
 * it from the last promoted deployment's history); the activity observes and
 * compares. Short, no side effects: a failed attempt is simply retried.
 */
import { proxyActivities } from "@temporalio/workflow";
import type { Activities } from "../../activities";
import type { CheckDriftInput, DriftReport } from "../../activities/drift";

const { checkDrift } = proxyActivities<Pick<Activities, "checkDrift">>({
  startToCloseTimeout: "5 minutes",
  heartbeatTimeout: "1 minute",
  retry: { maximumAttempts: 3, initialInterval: "2 seconds" },
});

export async function driftCheckWorkflow(input: CheckDriftInput): Promise<DriftReport> {
  return checkDrift(input);
}
