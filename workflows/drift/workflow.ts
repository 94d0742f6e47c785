/**
 * driftCheckWorkflow: one drift check on the worker that has the environment's
 * drivers (`shipshape drift`, `shipshape parity`, and a Temporal Schedule when
 * one is set up). The recorded state comes with the input (the client reads
 * it from the last promoted deployment's history); the activity observes and
 * compares. Short, no side effects: a failed attempt is simply retried.
 *
 * A scheduled check (`notify`) that finds drift also sends a `drift-detected`
 * notification to each of the environment's sinks that wants it (the sinks
 * as the config has them, secrets unresolved; the worker resolves them), one
 * delivery activity per sink, retried like a deployment's.
 */
import { log, proxyActivities, workflowInfo } from "@temporalio/workflow";
import type { Activities } from "../../activities";
import type { CheckDriftInput, DriftReport } from "../../activities/drift";
import type { NotificationSink } from "../../lib/config/notifications-schema";
import { formatDifferences } from "../../lib/drift/differences";
import { driftNotification } from "../../lib/notifications/drift";
import { call, notificationOptions } from "../deployment/activities";
import { errorText } from "../deployment/saga";

const { checkDrift } = proxyActivities<Pick<Activities, "checkDrift">>({
  startToCloseTimeout: "5 minutes",
  heartbeatTimeout: "1 minute",
  retry: { maximumAttempts: 3, initialInterval: "2 seconds" },
});

export type DriftCheckWorkflowInput = CheckDriftInput & {
  /** The environment's `notifications` (scheduled checks): where drift is sent besides the worker log. */
  sinks?: NotificationSink[];
};

export async function driftCheckWorkflow(input: DriftCheckWorkflowInput): Promise<DriftReport> {
  const { sinks, ...check } = input;
  const report = await checkDrift(check);
  if (input.notify && report.differences.length > 0 && sinks?.length) await notifySinks(input, sinks, report);
  return report;
}

async function notifySinks(
  input: DriftCheckWorkflowInput,
  sinks: NotificationSink[],
  report: DriftReport,
): Promise<void> {
  const { workflowId } = workflowInfo();
  const payload = driftNotification({
    checkId: workflowId,
    service: input.service,
    environment: input.environment,
    version: report.version,
    artifactDigest: report.artifactDigest,
    differences: report.differences,
    summary: `${input.service}/${input.environment}: ${report.version} has drifted: ${formatDifferences(report.differences)}`,
    at: new Date().toISOString(),
  });
  const key = {
    deploymentId: workflowId,
    service: input.service,
    environment: input.environment,
    version: report.version ?? "none",
    target: input.target,
  };
  for (const [sinkIndex, sink] of sinks.entries()) {
    if (!sink.events.includes("drift-detected")) continue;
    try {
      await call(
        "deliverNotification",
        { ...notificationOptions(sink.timeout), scheduleToCloseTimeout: "10 minutes" },
        `notify drift-detected → notifications[${sinkIndex}] (${sink.type})`,
        { key, sinkIndex, sink, payload },
      );
    } catch (err) {
      // One sink failing does not keep the others from hearing it.
      log.warn("drift notification not delivered (gave up)", { sinkIndex, error: errorText(err) });
    }
  }
}
