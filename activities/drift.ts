/**
 * Drift detection on the worker, which has the drivers: the target's
 * inspector observes (router, stack refresh preview, artifact) and
 * lib/drift judges against the recorded state. Used by `checkDrift` (the
 * `shipshape drift` and `parity` workflows, the recorded state coming from
 * the last promoted deployment's history) and by the deployment's preflight
 * (no recorded state given: blue's own stack and release record stand for it).
 */
import { Context } from "@temporalio/activity";
import { z } from "zod";
import { TargetSpec } from "../lib/deployment/target-spec";
import {
  type DriftDifference,
  driftDifferences,
  formatDifferences,
  RecordedState,
} from "../lib/drift/differences";
import type { Target } from "../lib/drivers/target";
import type { DeploymentDeps } from "./deployment-deps";
import { withHeartbeat } from "./heartbeat";

export const CheckDriftInput = z.object({
  service: z.string().min(1),
  environment: z.string().min(1),
  target: TargetSpec,
  /** What the last promoted deployment left running; absent: what the router says is blue, as its stack records it. */
  recorded: RecordedState.optional(),
  /** Send a `drift` notification when there is drift (scheduled checks). */
  notify: z.boolean().optional(),
});
export type CheckDriftInput = z.input<typeof CheckDriftInput>;

export interface DriftReport {
  /** false: the environment's target has no drift inspector (nothing was compared). */
  supported: boolean;
  /** The version compared (null: nothing serves and nothing was recorded). */
  version: string | null;
  differences: DriftDifference[];
  /** What the router serves now, for `parity`: blue's version, weight and instances. */
  serving: { version: string; weight: number; instances: string[] } | null;
  /** The staged artifact digest of the version compared. */
  artifactDigest: string | null;
}

/** Observes the scope on its target and compares (the preflight and `checkDrift` share it). */
export async function inspectDrift(
  target: Target,
  scope: { service: string; environment: string },
  recorded: RecordedState | undefined,
  progress: (m: string) => void,
): Promise<DriftReport> {
  if (!target.drift)
    return { supported: false, version: null, differences: [], serving: null, artifactDigest: null };
  let version = recorded?.version;
  if (!version) {
    const blue = (await target.router.getRoutes(scope)).backends.blue;
    if (!blue)
      return { supported: true, version: null, differences: [], serving: null, artifactDigest: null };
    version = blue.version;
  }
  const observed = await target.drift.observe(scope, version, progress);
  const differences = driftDifferences(
    recorded ?? { version, artifactDigest: null, instances: null, instanceCount: null },
    observed,
  );
  const blue = observed.router.backends.blue;
  return {
    supported: true,
    version,
    differences,
    serving: blue ? { version: blue.version, weight: blue.weight, instances: blue.instances } : null,
    artifactDigest: observed.artifact.stagedDigest,
  };
}

export function createDriftActivities(deps: DeploymentDeps) {
  return {
    async checkDrift(raw: CheckDriftInput): Promise<DriftReport> {
      const input = CheckDriftInput.parse(raw);
      const target = deps.targets.forSpec(input.target);
      const report = await withHeartbeat((progress) =>
        inspectDrift(
          target,
          { service: input.service, environment: input.environment },
          input.recorded,
          progress,
        ),
      );
      if (input.notify && report.differences.length > 0) {
        const scope = `${input.service}/${input.environment}`;
        // Keyed by the check's run: a retried activity does not notify twice.
        const { info } = Context.current();
        const run = info.workflowExecution?.runId ?? info.activityId;
        await deps.notifier.send({
          key: `drift:${scope}:${run}`,
          deploymentId: `drift:${scope}`,
          event: "drift-detected",
          text: `${scope}: ${report.version} has drifted: ${formatDifferences(report.differences)}`,
        });
      }
      return report;
    },
  };
}
