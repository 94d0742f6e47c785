/**
 * Drift inspection on the `local` target (lib/drivers/drift-inspector.ts):
 *   - the router of the scope, through its admin API: the table's backends
 *     and raw weights, what HAProxy applies, which instances fail health checks;
 *   - the version's Pulumi stack: the instances its state records, and a
 *     refresh preview (`pulumi refresh --preview-only`), where a LocalProcess
 *     whose process died or was replaced reads as gone (program/local-process.ts);
 *   - the version's release folder: the digest recorded when it was staged and
 *     the digest of the files on disk now.
 * Nothing is changed: no refresh is applied, no router is patched.
 */
import fs from "node:fs";
import path from "node:path";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { treeDigest } from "../../lib/artifacts/content";
import type { ObservedBackend, ObservedState } from "../../lib/drift/differences";
import type { ArtifactStore } from "../../lib/drivers/artifact-store";
import type { DriftInspector } from "../../lib/drivers/drift-inspector";
import type { PulumiSettings } from "../pulumi/settings";
import { openStack, stackExists } from "../pulumi/workspace";
import { LOCAL_PROJECT, legacyLocalStackName, localStackName } from "./program";
import { releaseDir } from "./releases";
import type { RoutesView } from "./router/client";

type Scope = { service: string; environment: string };

export interface LocalDriftOptions {
  stateDir: string;
  pulumi: PulumiSettings;
  /** The target's release store: the digest each version was staged with. */
  artifacts: ArtifactStore;
  /** The admin view of the scope's router (GET /admin/routes). */
  routes: (scope: Scope) => Promise<RoutesView>;
}

const INSTANCE_TYPE = "pulumi-nodejs:dynamic:Resource";

function backendOf(view: RoutesView, name: "blue" | "green"): ObservedBackend | undefined {
  const table = view.table.backends[name];
  if (!table) return undefined;
  const health = view.backends[name];
  return {
    version: table.version,
    weight: table.weight,
    instances: [...table.instances],
    unhealthy: [...(health?.unhealthy ?? [])],
  };
}

/** A refresh step's outcome: what refreshing would do to the resource's state (null: nothing). */
function refreshChange(e: EngineEvent): { resource: string; change: string } | null {
  const m = e.resOutputsEvent?.metadata;
  if (!m || m.type === "pulumi:pulumi:Stack" || m.type.startsWith("pulumi:providers:")) return null;
  const resource = m.urn.split("::").pop() ?? m.urn;
  if (m.op === "same") return null;
  if (m.op === "refresh" || m.op === "read") {
    if (!m.new?.id) return { resource, change: "delete" };
    if (m.diffs?.length) return { resource, change: `update (${m.diffs.join(", ")})` };
    return null;
  }
  return { resource, change: m.op };
}

export function createLocalDriftInspector(options: LocalDriftOptions): DriftInspector {
  const { stateDir, pulumi } = options;

  async function stackOf(scope: Scope, version: string): Promise<{ name: string; exists: boolean }> {
    const own = localStackName({ ...scope, version }, stateDir);
    if (await stackExists(pulumi, LOCAL_PROJECT, own)) return { name: own, exists: true };
    const legacy = legacyLocalStackName({ ...scope, version });
    if (await stackExists(pulumi, LOCAL_PROJECT, legacy)) return { name: legacy, exists: true };
    return { name: own, exists: false };
  }

  async function inspectStack(name: string, progress: (m: string) => void) {
    const { stack } = await openStack(pulumi, {
      projectName: LOCAL_PROJECT,
      stackName: name,
      program: async () => ({}),
    });
    const exported = await stack.exportStack();
    const resources = ((exported.deployment as { resources?: unknown[] } | undefined)?.resources ??
      []) as Array<{
      type?: string;
      outputs?: { url?: unknown };
    }>;
    const instances = resources
      .filter((r) => r.type === INSTANCE_TYPE && typeof r.outputs?.url === "string")
      .map((r) => r.outputs?.url as string);
    progress(`pulumi refresh --preview-only ${name}`);
    const changes: Array<{ resource: string; change: string }> = [];
    let summary: Record<string, number> = {};
    await stack.previewRefresh({
      color: "never",
      onEvent: (e) => {
        const c = refreshChange(e);
        if (c) changes.push(c);
        if (e.summaryEvent) summary = e.summaryEvent.resourceChanges as Record<string, number>;
      },
    });
    // The summary counts what the events may not name (an engine that reports refreshes differently).
    const unnamed = Object.entries(summary).filter(([op, n]) => op !== "same" && n > 0);
    if (changes.length === 0 && unnamed.length > 0)
      changes.push({ resource: name, change: unnamed.map(([op, n]) => `${op} ${n} resource(s)`).join(", ") });
    return { instances, refresh: changes };
  }

  return {
    async observe(scope, version, progress) {
      const view = await options.routes(scope);
      const blue = backendOf(view, "blue");
      const green = backendOf(view, "green");
      const stackRef = await stackOf(scope, version);
      const stack = stackRef.exists
        ? { ...stackRef, ...(await inspectStack(stackRef.name, progress)) }
        : { ...stackRef, instances: [], refresh: [] };
      const dir = releaseDir(stateDir, scope.service, version);
      const app = path.join(dir, "app");
      // No record: a version provisioned without staging (driver-level tests) is not compared.
      const stagedDigest = await options.artifacts.digestOf(scope.service, version);
      progress(`digest of ${app}`);
      const contentDigest = stagedDigest && fs.existsSync(app) ? treeDigest(app) : null;
      return {
        router: {
          backends: { ...(blue ? { blue } : {}), ...(green ? { green } : {}) },
          applied: view.applied ? { ...view.applied.split } : null,
        },
        stack,
        artifact: { stagedDigest, contentDigest },
      } satisfies ObservedState;
    },
  };
}
