import fs from "node:fs";
import path from "node:path";
import { type EnvironmentRef, type ProvisionResult, stackNameFor } from "../../lib/deployment/skeleton-types";
import type { EnvironmentInfraDriver } from "../../lib/drivers/skeleton-infra-driver";
import { stateDir } from "../../lib/runtime/paths";
import { clearPendingOperations, openStack, stackExists } from "../pulumi/workspace";
import { SKELETON_PROJECT, skeletonProgram } from "./program";

export type InfraProgress = (message: string) => void;

export function skeletonMarkerFile(stackName: string): string {
  return path.join(stateDir(), "skeleton", `${stackName}.marker.json`);
}

export function skeletonStartedFile(stackName: string): string {
  return path.join(stateDir(), "skeleton", `${stackName}.create-started`);
}

/** Provisions and destroys the skeleton's "green environment" through Pulumi Automation. */
export const skeletonInfraDriver: EnvironmentInfraDriver = {
  async provision(ref: EnvironmentRef, holdMs: number, progress: InfraProgress): Promise<ProvisionResult> {
    const stackName = stackNameFor(ref);
    const program = skeletonProgram({
      markerFile: skeletonMarkerFile(stackName),
      content: JSON.stringify({ service: ref.service, version: ref.version, deploymentId: ref.deploymentId }),
      holdMs,
      startedFile: skeletonStartedFile(stackName),
    });
    const { stack, clearedLocks } = await openStack({ projectName: SKELETON_PROJECT, stackName, program });
    if (clearedLocks.length > 0)
      progress(`cleared ${clearedLocks.length} stale lock(s) left by a killed pulumi`);
    const clearedPending = await clearPendingOperations(stack);
    if (clearedPending > 0)
      progress(`cleared ${clearedPending} pending operation(s) from an interrupted update`);
    const result = await stack.up({
      color: "never",
      onEvent: (e) => {
        if (e.resourcePreEvent)
          progress(`${e.resourcePreEvent.metadata.op} ${e.resourcePreEvent.metadata.urn.split("::").pop()}`);
      },
    });
    const outputs = Object.fromEntries(Object.entries(result.outputs).map(([k, v]) => [k, v.value]));
    return {
      stackName,
      outputs,
      clearedLocks: clearedLocks.length,
      clearedPendingOperations: clearedPending,
    };
  },

  /** Destroy + remove; a no-op when the stack is already gone (idempotent compensation). */
  async destroy(ref: EnvironmentRef, progress: InfraProgress): Promise<{ existed: boolean }> {
    const stackName = stackNameFor(ref);
    if (!(await stackExists(SKELETON_PROJECT, stackName))) return { existed: false };
    const program = skeletonProgram({ markerFile: "", content: "", holdMs: 0, startedFile: "" });
    const { stack } = await openStack({ projectName: SKELETON_PROJECT, stackName, program });
    await clearPendingOperations(stack);
    await stack.destroy({ color: "never", onOutput: () => progress("destroying") });
    await stack.workspace.removeStack(stackName);
    fs.rmSync(skeletonStartedFile(stackName), { force: true });
    return { existed: true };
  },
};
