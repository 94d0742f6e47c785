import type { DeploymentStatus } from "../../workflows/deployment/state";

/** A deployment status for pure tests: a shop v2 over v1 at step 2/4 (10%), with `over` on top. */
export function deploymentStatus(over: Partial<DeploymentStatus> = {}): DeploymentStatus {
  return {
    deploymentId: "d",
    service: "shop",
    environment: "production",
    version: "v2",
    artifact: "a",
    requestedBy: "alice",
    reason: "",
    configDigest: "",
    endpoint: null,
    serving: null,
    artifactDigest: null,
    activeMigration: null,
    phase: "shifting-traffic",
    outcome: null,
    outcomeReason: null,
    step: { index: 2, total: 4, weight: 10 },
    weights: { blue: 90, green: 10 },
    blueVersion: "v1",
    phases: [],
    analysis: { status: "running", verdicts: [], decisions: [] },
    pendingApprovals: [],
    paused: null,
    promotedBy: null,
    compensations: [],
    needsAttention: null,
    decisions: [],
    ...over,
  };
}
