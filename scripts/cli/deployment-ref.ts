import { type Client, type WorkflowHandle, WorkflowNotFoundError } from "@temporalio/client";
import { CliError } from "./errors";

/**
 * Resolves what a person typed to a running-or-closed deployment workflow.
 * Accepts the workflow ID, or `<service>/<environment>` — the latest
 * deployment of that service and environment.
 */
export async function resolveDeployment(client: Client, ref: string): Promise<WorkflowHandle> {
  let workflowId = ref;
  const short = /^([a-z0-9][a-z0-9-]*)\/([a-z0-9][a-z0-9-]*)$/.exec(ref);
  if (short) {
    const query = `ShipshapeService = '${short[1]}' AND ShipshapeEnvironment = '${short[2]}'`;
    for await (const wf of client.workflow.list({ query, pageSize: 1 })) {
      workflowId = wf.workflowId;
      break;
    }
  }
  const handle = client.workflow.getHandle(workflowId);
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
