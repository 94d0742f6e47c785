/**
 * Stacks made before stack names carried a hash (`legacyLocalStackName`).
 * Such a name may be shared by several version environments (`shop/prod-eu`
 * and `shop-prod/eu`, `1.2` and `1-2`), so a stack under it is adopted by a
 * version only when its own state proves it is that version's: every
 * instance it records (created or pending) was started with exactly the
 * version's SHIPSHAPE_SERVICE, SHIPSHAPE_ENVIRONMENT and SHIPSHAPE_VERSION,
 * from this state folder's run folder. Adopted, it keeps its name: the blue
 * it runs keeps serving untouched, and its destroy (decommission, rollback)
 * finds it. A stack that proves nothing (no instance, or another version's)
 * is left alone; the version gets a stack under its new name.
 */
import path from "node:path";
import type { Stack } from "@pulumi/pulumi/automation";
import type { VersionEnvironmentRef } from "../../lib/drivers/common";
import { localStackPaths } from "./program";

interface CheckpointResource {
  type?: string;
  inputs?: { key?: unknown; env?: unknown; pidFile?: unknown };
}

/** The env input in an export with secrets shown: the plain object, or the secret's plaintext JSON. */
function plainEnv(env: unknown): Record<string, unknown> | undefined {
  if (!env || typeof env !== "object") return undefined;
  const secret = env as { plaintext?: unknown; ciphertext?: unknown };
  if (typeof secret.plaintext === "string") {
    try {
      return JSON.parse(secret.plaintext) as Record<string, unknown>;
    } catch {
      return undefined;
    }
  }
  if (secret.ciphertext !== undefined) return undefined;
  return env as Record<string, unknown>;
}

/** The instances of a legacy stack's export (resources and pending operations). */
function instancesOf(exported: unknown): CheckpointResource[] {
  const deployment = (exported as { deployment?: unknown }).deployment as
    | { resources?: CheckpointResource[]; pending_operations?: Array<{ resource?: CheckpointResource }> }
    | undefined;
  const all = [
    ...(deployment?.resources ?? []),
    ...(deployment?.pending_operations ?? []).map((p) => p.resource ?? {}),
  ];
  return all.filter((r) => r.type === "pulumi-nodejs:dynamic:Resource");
}

/** Whether one recorded instance is the version's, started from `runDir`. */
function instanceIsOf(r: CheckpointResource, ref: VersionEnvironmentRef, runDir: string): boolean {
  const env = plainEnv(r.inputs?.env);
  const pidFile = r.inputs?.pidFile;
  return (
    env !== undefined &&
    env.SHIPSHAPE_SERVICE === ref.service &&
    env.SHIPSHAPE_ENVIRONMENT === ref.environment &&
    env.SHIPSHAPE_VERSION === ref.version &&
    typeof pidFile === "string" &&
    path.resolve(path.dirname(pidFile)) === path.resolve(runDir)
  );
}

/**
 * Whether `stack` (opened under the legacy name `stackName`) holds `ref`'s
 * instances and nobody else's. `exportStack` shows secrets (the instances'
 * env is one), so the stack's secrets provider must be this worker's.
 */
export async function legacyStackIsOf(
  stack: Stack,
  stackName: string,
  ref: VersionEnvironmentRef,
  stateDir: string,
): Promise<boolean> {
  const instances = instancesOf(await stack.exportStack());
  const { runDir } = localStackPaths(stateDir, stackName);
  return instances.length > 0 && instances.every((r) => instanceIsOf(r, ref, runDir));
}
