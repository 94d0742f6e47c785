import fs from "node:fs";
import path from "node:path";
import { fileBackendDir, type PulumiSettings } from "./settings";

/**
 * A stack's checkpoint on a file backend, read from disk: its resources and
 * the operations it still records as in flight (an interrupted update nobody
 * cleaned up). Undefined when the stack does not exist or the backend is remote.
 */
export function stackCheckpoint(
  settings: PulumiSettings,
  project: string,
  stackName: string,
): { resources: Array<{ type: string }>; pending: unknown[] } | undefined {
  const dir = fileBackendDir(settings);
  if (!dir) return undefined;
  const file = path.join(dir, ".pulumi", "stacks", project, `${stackName}.json`);
  if (!fs.existsSync(file)) return undefined;
  const json = JSON.parse(fs.readFileSync(file, "utf8"));
  return {
    resources: json.checkpoint?.latest?.resources ?? [],
    pending: json.checkpoint?.latest?.pending_operations ?? [],
  };
}
