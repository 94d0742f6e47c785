import { ActivityKey } from "../lib/deployment/types";
import type { DeploymentDeps } from "./deployment-deps";

/**
 * Notifications. Keyed by deploymentId + event so a retried send is a no-op at
 * the notifier. Notifying is best effort and never fails a deployment (the
 * workflow calls it with few retries and ignores its failure).
 */
export function createNotifyActivities(deps: DeploymentDeps) {
  return {
    async notify(input: { key: ActivityKey; event: string; text: string }): Promise<{ sent: boolean }> {
      const key = ActivityKey.parse(input.key);
      return deps.notifier.send({
        key: `${key.deploymentId}:${input.event}`,
        deploymentId: key.deploymentId,
        event: input.event,
        text: input.text,
      });
    },
  };
}
