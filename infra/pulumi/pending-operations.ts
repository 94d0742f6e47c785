/**
 * After `pulumi up` is killed mid-update the checkpoint carries pending
 * operations, and the next `up` refuses to run until they are resolved.
 *
 * A pending create is a resource the provider may have made (the crash can
 * come after the provider created it and before Pulumi recorded it). Clearing
 * it forgets that resource: on a target whose resources have fixed names (an
 * AWS target group, IAM role, ECS service) the retry then fails with "already
 * exists", and the orphan is never destroyed. So pending creates are IMPORTED
 * instead: each target says which provider ID the resource would have
 * (`PendingCreateIds`), the pending create is recorded as a resource with that
 * ID, and a refresh reads it from the provider. One that the provider cannot
 * find (the crash came before it was made) is dropped by that same read; the
 * next `up` creates it.
 *
 * Why not `pulumi refresh --import-pending-creates <urn> <id>`: the
 * Automation API only offers clearing, and the CLI of this toolchain (3.274)
 * run with that flag turns the creates into pending imports that its refresh
 * then drops without reading them (seen on the local target: nothing was
 * recorded). Editing the exported state does the same thing the flag
 * describes, through the export/import both APIs offer. Only pending creates without a known ID, and other
 * pending operations (updates, deletes: their resource is in the state
 * already), are cleared.
 */
import type { Stack } from "@pulumi/pulumi/automation";

/** A resource of a pending operation, as the checkpoint records it (inputs in plain text). */
export interface PendingResource {
  urn: string;
  type: string;
  inputs?: Record<string, unknown>;
}

/** The provider ID a pending create would have had, or undefined when it cannot be known (then it is cleared). */
export type PendingCreateIds = (
  resource: PendingResource,
) => Promise<string | undefined> | string | undefined;

interface PendingOperation {
  type: string;
  resource: PendingResource;
}

function pendingOf(exported: { deployment?: unknown }): PendingOperation[] {
  return ((exported.deployment as { pending_operations?: PendingOperation[] } | undefined)
    ?.pending_operations ?? []) as PendingOperation[];
}

/**
 * Records each pending create of `ids` as a resource with that ID (what
 * `--import-pending-creates` means), then refreshes: the provider's read
 * looks each one up by its ID and keeps it with what it finds, or drops it
 * when nothing exists under that ID. The resource's inputs stand in for its
 * outputs until that read (a dynamic provider finds its code there).
 */
async function importIntoState(stack: Stack, ids: Map<string, string>): Promise<void> {
  const exported = await stack.exportStack();
  const deployment = exported.deployment as {
    resources?: Array<Record<string, unknown>>;
    pending_operations?: PendingOperation[];
  };
  const imported: Array<Record<string, unknown>> = [];
  deployment.pending_operations = (deployment.pending_operations ?? []).filter((op) => {
    const id = op.type === "creating" ? ids.get(op.resource.urn) : undefined;
    if (id === undefined) return true;
    imported.push({ ...op.resource, id, outputs: op.resource.inputs ?? {} });
    return false;
  });
  // In creation order, after the parents and providers they name (already recorded).
  deployment.resources = [...(deployment.resources ?? []), ...imported];
  await stack.importStack(exported);
  await stack.refresh({ color: "never" });
}

/**
 * Resolves the stack's pending operations: creates with a known ID are
 * imported, the rest cleared. Returns how many of each (both 0: nothing was
 * pending).
 */
export async function resolvePendingOperations(
  stack: Stack,
  idOf: PendingCreateIds,
): Promise<{ imported: number; cleared: number }> {
  const pending = pendingOf(await stack.exportStack());
  if (pending.length === 0) return { imported: 0, cleared: 0 };
  const ids = new Map<string, string>();
  for (const op of pending) {
    if (op.type !== "creating") continue;
    const id = await idOf(op.resource);
    if (id) ids.set(op.resource.urn, id);
  }
  if (ids.size > 0) await importIntoState(stack, ids);
  let left = pendingOf(await stack.exportStack());
  if (left.some((op) => op.type === "creating")) {
    await stack.refresh({ clearPendingCreates: true, color: "never" });
  }
  const after = await stack.exportStack();
  left = pendingOf(after);
  if (left.length > 0) {
    (after.deployment as { pending_operations?: unknown[] }).pending_operations = [];
    await stack.importStack(after);
  }
  return { imported: ids.size, cleared: pending.length - ids.size };
}
