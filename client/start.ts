/**
 * Starting a deployment: the workflow ID scheme and the one-at-a-time rule
 * (one deployment per service and environment).
 *
 * Workflow ID: `shipshape:<service>:<environment>` — one ID per service and
 * environment, so the Temporal server itself enforces "one deployment per
 * service+environment at a time":
 *   - workflowIdConflictPolicy FAIL: a start while one is RUNNING fails with
 *     WorkflowExecutionAlreadyStartedError (never attaches to, or terminates,
 *     the running one);
 *   - workflowIdReusePolicy ALLOW_DUPLICATE: once the previous run has closed
 *     (promoted, rolled back, even failed or terminated) the same ID starts a
 *     new run. Each run is told apart by its run ID; the deployment ID (the
 *     activities' idempotency key) defaults to that run ID.
 * The error is turned into a message naming the running deployment: workflow
 * and run ID, version, phase (from the status query), who started it.
 */
import {
  type Client,
  WorkflowExecutionAlreadyStartedError,
  type WorkflowHandleWithFirstExecutionRunId,
} from "@temporalio/client";
import { type DeploymentInput, inputLengthProblems } from "../lib/deployment/types";
import { TASK_QUEUE } from "../lib/names";
import { NOTIFICATION_DRAIN_MS } from "../lib/notifications/events";
import { SA } from "../lib/search-attributes";
import type { deploymentWorkflow } from "../workflows";
import { statusQuery } from "../workflows/deployment/messages";
import { checkPromotionPath } from "./promotion-path";

export function deploymentWorkflowId(service: string, environment: string): string {
  return `shipshape:${service}:${environment}`;
}

export class DeploymentAlreadyRunningError extends Error {
  constructor(
    message: string,
    readonly workflowId: string,
    readonly runId: string | null,
  ) {
    super(message);
    this.name = "DeploymentAlreadyRunningError";
  }
}

/** Refused before anything is sent to Temporal. */
export class InvalidDeploymentInputError extends Error {
  override name = "InvalidDeploymentInputError";
}

export async function startDeployment(
  client: Client,
  input: DeploymentInput,
  options: { taskQueue?: string; onWait?: (message: string) => void } = {},
): Promise<WorkflowHandleWithFirstExecutionRunId<typeof deploymentWorkflow>> {
  const tooLong = inputLengthProblems(input);
  if (tooLong.length > 0) throw new InvalidDeploymentInputError(tooLong.join("; "));
  // A stage that requires an earlier one: refused unless that one promoted the same release.
  await checkPromotionPath(client, input);
  const workflowId = deploymentWorkflowId(input.service, input.environment);
  try {
    return await startRun(client, workflowId, input, options);
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    // The previous run has its outcome and only sends its last notifications (bounded):
    // wait for it to close rather than refuse a deployment that is not in anyone's way.
    if (await closedAfterDraining(client, workflowId, options.onWait)) {
      try {
        return await startRun(client, workflowId, input, options);
      } catch (again) {
        if (!(again instanceof WorkflowExecutionAlreadyStartedError)) throw again;
      }
    }
    throw await describeRunning(client, workflowId, input);
  }
}

function startRun(
  client: Client,
  workflowId: string,
  input: DeploymentInput,
  options: { taskQueue?: string },
) {
  return client.workflow.start<typeof deploymentWorkflow>("deploymentWorkflow", {
    workflowId,
    taskQueue: options.taskQueue ?? TASK_QUEUE,
    args: [input],
    workflowIdConflictPolicy: "FAIL",
    workflowIdReusePolicy: "ALLOW_DUPLICATE",
    // What was deployed, readable without a worker (`shipshape rollback` redeploys it).
    memo: {
      configDigest: input.configDigest ?? "",
      artifact: input.artifact,
      ...(input.artifactDigest ? { artifactDigest: input.artifactDigest } : {}),
    },
    typedSearchAttributes: [
      { key: SA.service, value: input.service },
      { key: SA.environment, value: input.environment },
      { key: SA.version, value: input.version },
      { key: SA.phase, value: "validating" },
    ],
    staticSummary: `deploy ${input.service} ${input.version} to ${input.environment}`,
  });
}

/**
 * When the running deployment already has its outcome (the search attribute
 * is set as it ends, then it drains its notification lanes for at most
 * NOTIFICATION_DRAIN_MS), waits for it to close: true once it has.
 */
async function closedAfterDraining(
  client: Client,
  workflowId: string,
  onWait?: (message: string) => void,
): Promise<boolean> {
  const handle = client.workflow.getHandle(workflowId);
  const outcome = await handle
    .describe()
    .then((d) => d.typedSearchAttributes.get(SA.outcome))
    .catch(() => undefined);
  if (!outcome) return false;
  onWait?.(
    `${workflowId} has ended (${outcome}) and is sending its last notifications; waiting for it (at most ${NOTIFICATION_DRAIN_MS / 60_000} min)…`,
  );
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), NOTIFICATION_DRAIN_MS + 15_000);
  });
  const closed = handle.result().then(
    () => true,
    () => true, // a rolled-back deployment closes as a failed workflow: closed all the same
  );
  try {
    return await Promise.race([closed, bound]);
  } finally {
    clearTimeout(timer);
  }
}

async function describeRunning(client: Client, workflowId: string, input: DeploymentInput) {
  const handle = client.workflow.getHandle(workflowId);
  let runId: string | null = null;
  let detail = "";
  try {
    const d = await handle.describe();
    runId = d.runId;
    const version = d.typedSearchAttributes.get(SA.version) ?? "?";
    let phase = d.typedSearchAttributes.get(SA.phase) ?? "?";
    let by = "";
    try {
      const s = await handle.query(statusQuery);
      phase = `${s.phase}, step ${s.step.index}/${s.step.total}`;
      by = `, started by ${s.requestedBy}`;
      // Ended, but still delivering its last notifications (bounded: workflows/deployment/notifications.ts).
      if (s.outcome)
        return new DeploymentAlreadyRunningError(
          `cannot deploy ${input.service} ${input.version} to ${input.environment} yet: deployment ${workflowId} run ${runId} has ended (${s.outcome}) and is still sending its last notifications — at most ${NOTIFICATION_DRAIN_MS / 60_000} min more. Try again then.`,
          workflowId,
          runId,
        );
    } catch {
      // no worker to answer the query: the search attributes still say enough
    }
    detail = `version ${version} (${phase}${by})`;
  } catch (e) {
    detail = `(could not describe it: ${e instanceof Error ? e.message : String(e)})`;
  }
  return new DeploymentAlreadyRunningError(
    `cannot deploy ${input.service} ${input.version} to ${input.environment}: deployment ${workflowId} run ${runId ?? "?"} is still running — ${detail}. Wait for it, or abort it with \`shipshape abort ${input.service}/${input.environment} --reason "…"\`.`,
    workflowId,
    runId,
  );
}
