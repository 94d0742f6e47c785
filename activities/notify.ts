import { ActivityKey } from "../lib/deployment/types";
import type { DeploymentDeps } from "./deployment-deps";

/**
 * Notifications. Keyed by deploymentId + event so a retried send is a no-op at
 * the notifier. A deployment without a notifier just logs nothing: notifying
 * is best effort and never fails a deployment (the workflow calls it with few
 * retries and ignores its failure).
 */
export function createNotifyActivities(deps: Partial<DeploymentDeps>) {
  return {
    async notify(input: { key: ActivityKey; event: string; text: string }): Promise<{ sent: boolean }> {
      const key = ActivityKey.parse(input.key);
      if (!deps.notifier) return { sent: false };
      return deps.notifier.send({
        key: `${key.deploymentId}:${input.event}`,
        deploymentId: key.deploymentId,
        event: input.event,
        text: input.text,
      });
    },
  };
}
