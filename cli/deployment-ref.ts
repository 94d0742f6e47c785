import { type Client, type WorkflowHandle, WorkflowNotFoundError } from "@temporalio/client";
import { deploymentWorkflowId } from "../client/start";
import { CliError } from "./errors";

/**
 * Resolves what a person typed to a deployment workflow (its latest run).
 * Accepts the workflow ID (`shipshape:shop:production`) or the shorthand
 * `shop/production` / `shop:production` — there is one workflow ID per
 * service and environment (see client/start.ts).
 */
export function workflowIdFor(ref: string): string {
  const short = /^([a-z0-9][a-z0-9-]*)[/:]([a-z0-9][a-z0-9-]*)$/.exec(ref);
  return short ? deploymentWorkflowId(short[1]!, short[2]!) : ref;
}

export async function resolveDeployment(client: Client, ref: string): Promise<WorkflowHandle> {
  const handle = client.workflow.getHandle(workflowIdFor(ref));
  try {
    await handle.describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError || (err instanceof Error && /not found/i.test(err.message))) {
      throw new CliError(
        `no deployment "${ref}" — \`shipshape list\` shows recent deployments and their IDs`,
      );
    }
    throw err;
  }
  return handle;
}
