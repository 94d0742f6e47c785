/**
 * Types every driver contract shares. Every driver method must be idempotent:
 * the activity layer retries it after a crash, keyed by the deployment
 * (`VersionEnvironmentRef.deploymentId`) and step.
 */

/** Identifies one version environment of one service. Stack names derive from it. */
export interface VersionEnvironmentRef {
  deploymentId: string;
  service: string;
  environment: string;
  version: string;
}

/** Progress lines a long driver call reports; the activity turns them into heartbeats. */
export type Progress = (message: string) => void;
