import {
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  log,
  proxyActivities,
  setCurrentDetails,
  upsertSearchAttributes,
} from "@temporalio/workflow";
import type { Activities } from "../activities";
import {
  type EnvironmentRef,
  SkeletonDeploymentInput,
  type SkeletonResult,
} from "../lib/deployment/skeleton-types";
import { SA } from "../lib/search-attributes";

// Forward side effects: bounded retries, explicit timeouts. A killed worker is
// noticed through the heartbeat timeout, and the activity retries elsewhere.
const forward = proxyActivities<Activities>({
  startToCloseTimeout: "10 minutes",
  heartbeatTimeout: "10 seconds",
  retry: {
    initialInterval: "1 second",
    backoffCoefficient: 2,
    maximumInterval: "30 seconds",
    maximumAttempts: 5,
  },
});

// Compensations never give up: unlimited attempts with capped backoff.
const compensate = proxyActivities<Activities>({
  startToCloseTimeout: "10 minutes",
  heartbeatTimeout: "10 seconds",
  retry: { initialInterval: "1 second", backoffCoefficient: 2, maximumInterval: "1 minute" },
});

function setPhase(phase: string): void {
  upsertSearchAttributes([{ key: SA.phase, value: phase }]);
  setCurrentDetails(`**Phase:** ${phase}`);
}

/**
 * The walking skeleton: provision green through Pulumi, touch
 * PostgreSQL, and on any failure or cancellation run the compensations in
 * reverse inside a non-cancellable scope. It proves the engines connect; the
 * full DeploymentWorkflow grows from this shape.
 */
export async function skeletonDeploymentWorkflow(rawInput: SkeletonDeploymentInput): Promise<SkeletonResult> {
  // A bad input fails the workflow at once (not a retried workflow task), before any side effect.
  const parsed = SkeletonDeploymentInput.safeParse(rawInput);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .map((i) => `${i.path.join(".") || "input"}: ${i.message}`)
      .join("; ");
    throw ApplicationFailure.nonRetryable(`invalid deployment input — ${problems}`, "InvalidDeploymentInput");
  }
  const input = parsed.data;
  const ref: EnvironmentRef = {
    deploymentId: input.deploymentId,
    service: input.service,
    environment: input.environment,
    version: input.version,
  };
  upsertSearchAttributes([
    { key: SA.service, value: input.service },
    { key: SA.environment, value: input.environment },
    { key: SA.version, value: input.version },
  ]);

  const compensations: Array<{ name: string; run: () => Promise<unknown> }> = [];
  try {
    setPhase("provision-green");
    // Registered before the call: a provision that half-happened (crash after
    // Pulumi created something) must still be torn down; destroy is a no-op
    // when nothing exists.
    compensations.unshift({
      name: "destroyGreenEnvironment",
      run: () => compensate.destroyGreenEnvironment(ref),
    });
    await forward.provisionGreenEnvironment({ ...ref, holdMs: input.holdProvisionMs });

    setPhase("record-deployment");
    compensations.unshift({
      name: "deleteDeploymentRecord",
      run: () => compensate.deleteDeploymentRecord(ref),
    });
    await forward.recordDeployment(ref);

    if (input.failAfterDatabase) {
      throw ApplicationFailure.nonRetryable("injected failure after the database step", "InjectedFailure");
    }
    setPhase("promoted");
    upsertSearchAttributes([{ key: SA.outcome, value: "promoted" }]);
    return { outcome: "promoted", compensations: [] };
  } catch (err) {
    const reason = isCancellation(err) ? "cancelled" : err instanceof Error ? err.message : String(err);
    log.warn("rolling back", { reason });
    setPhase("rolling-back");
    const done: string[] = [];
    await CancellationScope.nonCancellable(async () => {
      for (const c of compensations) {
        await c.run();
        done.push(c.name);
      }
    });
    setPhase("rolled-back");
    upsertSearchAttributes([{ key: SA.outcome, value: "rolled-back" }]);
    return { outcome: "rolled-back", reason, compensations: done };
  }
}
