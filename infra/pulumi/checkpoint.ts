import fs from "node:fs";
import path from "node:path";
import { pulumiPaths } from "./workspace";

/**
 * A stack's checkpoint on the local file backend, read from disk: its
 * resources and the operations it still records as in flight (an interrupted
 * update nobody cleaned up). Undefined when the stack does not exist.
 */
export function stackCheckpoint(
  project: string,
  stackName: string,
): { resources: Array<{ type: string }>; pending: unknown[] } | undefined {
  const file = path.join(pulumiPaths(project).backendDir, ".pulumi", "stacks", project, `${stackName}.json`);
  if (!fs.existsSync(file)) return undefined;
  const json = JSON.parse(fs.readFileSync(file, "utf8"));
  return {
    resources: json.checkpoint?.latest?.resources ?? [],
    pending: json.checkpoint?.latest?.pending_operations ?? [],
  };
}
