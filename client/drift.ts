/**
 * `shipshape drift` as a library: the recorded state from the last promoted
 * deployment (client/promoted-deployments.ts), compared on a worker of the
 * environment by driftCheckWorkflow (workflows/drift/workflow.ts), since the
 * worker has the drivers (Pulumi, the router) and the CLI talks only to Temporal.
 */
import { randomUUID } from "node:crypto";
import type { Client } from "@temporalio/client";
import type { CheckDriftInput, DriftReport } from "../activities/drift";
import { targetSpecOf } from "../lib/deployment/target-spec";
import { TASK_QUEUE } from "../lib/names";
import type { driftCheckWorkflow } from "../workflows";
import { listDeployments } from "./deployments-query";
import { lastPromoted, type PromotedDeployment } from "./promoted-deployments";

/** Why no check was made: nothing to compare with, a deployment in the way, an unsupported target. */
export class DriftCheckError extends Error {
  override name = "DriftCheckError";
}

export interface DriftCheck {
  promoted: PromotedDeployment;
  report: DriftReport;
}

/** The check's input from a promoted deployment's record. */
export function driftInputOf(promoted: PromotedDeployment, environment: string): CheckDriftInput {
  const { config } = promoted;
  return {
    service: config.service,
    environment,
    target: targetSpecOf(config, environment),
    recorded: {
      version: promoted.version,
      artifactDigest: promoted.artifactDigest,
      instances: promoted.instances,
      instanceCount: config.run.instances,
      source: `${promoted.row.workflowId} run ${promoted.row.runId}`,
    },
  };
}

/** Runs one drift check of service/environment on a worker (task queue) and returns its report. */
export async function checkDrift(
  client: Client,
  scope: { service: string; environment: string },
  options: { taskQueue?: string } = {},
): Promise<DriftCheck> {
  const running = await listDeployments(client, scope, 1);
  if (running[0]?.status === "RUNNING") {
    throw new DriftCheckError(
      `a deployment of ${scope.service}/${scope.environment} is running (${running[0].workflowId}, ${running[0].version}, ${running[0].phase}): ` +
        "drift is measured against a promotion, check again once it has ended",
    );
  }
  const promoted = await lastPromoted(client, scope.service, scope.environment);
  if (!promoted) {
    throw new DriftCheckError(
      `${scope.service}/${scope.environment} has no promoted deployment to compare with: deploy it first`,
    );
  }
  const report = await client.workflow.execute<typeof driftCheckWorkflow>("driftCheckWorkflow", {
    workflowId: `shipshape-drift:${scope.service}:${scope.environment}:${randomUUID()}`,
    taskQueue: options.taskQueue ?? TASK_QUEUE,
    args: [driftInputOf(promoted, scope.environment)],
    workflowExecutionTimeout: "10 minutes",
    staticSummary: `drift check of ${scope.service}/${scope.environment}`,
  });
  if (!report.supported) {
    throw new DriftCheckError(
      `drift detection is not available for the ${targetSpecOf(promoted.config, scope.environment).kind} target of ${scope.service}/${scope.environment} yet`,
    );
  }
  return { promoted, report };
}
