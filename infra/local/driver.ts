import fs from "node:fs";
import path from "node:path";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import type { Progress, VersionEnvironmentRef } from "../../lib/drivers/common";
import type { InfraDriver, ProvisionedEnvironment, ProvisionSpec } from "../../lib/drivers/infra-driver";
import { type PendingCreateIds, resolvePendingOperations } from "../pulumi/pending-operations";
import type { PulumiSettings } from "../pulumi/settings";
import { openStack, reapOrphanedPulumiPlugins, stackExists } from "../pulumi/workspace";
import { grantSearchPath, type InstanceUser, instanceUserFor, privateDir } from "./instance-user";
import { legacyStackIsOf } from "./legacy-stacks";
import {
  LOCAL_PROJECT,
  legacyLocalStackName,
  localProgram,
  localStackName,
  localStackPaths,
} from "./program";
import { controller } from "./program/local-process";

/**
 * The `local` infra target: one Pulumi stack per version environment on the
 * worker's Pulumi backend, named by `localStackName` (readable part and a hash
 * of the exact service, environment, version and state folder); each stack runs
 * `run.instances` LocalProcess resources (see program/local-process.ts), with
 * the version's release folder (releases.ts) as their working directory.
 *
 * Crash recovery (a `pulumi up` SIGKILLed mid-update, e.g. with its worker):
 *   1. openStack removes the lock left by the dead pulumi (owner pid gone);
 *   2. resolvePendingOperations imports the pending creates (`pulumi refresh
 *      --import-pending-creates`, the ID of an instance being its key
 *      `<stack>/<index>`): LocalProcess.read finds each one's pidfile and
 *      records the still-running, healthy process of the same spec; one that
 *      never started, died or runs another spec is dropped by that read;
 *   3. `up` runs create for the instances that are missing: each finds its
 *      pidfile (idempotency key) and adopts the still-running process (same
 *      spec, healthy) or kills it and starts a fresh one.
 * Stacks made under the names of earlier releases (`legacyLocalStackName`)
 * keep working: a version whose new-named stack does not exist adopts the
 * legacy stack when its state proves it is the version's (legacy-stacks.ts),
 * and destroy removes both.
 * destroy runs `pulumi destroy`, removes the stack, then reaps every pidfile
 * left in the stack's run folder (processes of a create that was interrupted
 * and never recorded in the state), so nothing leaks even when a compensation
 * runs right after a crash.
 */
export interface LocalInfraDriverOptions {
  /** The worker's state folder: pidfiles and logs of the instances live under it. */
  stateDir: string;
  pulumi: PulumiSettings;
  /**
   * Who instances run as (instance-user.ts). Not given: SHIPSHAPE_INSTANCE_USER
   * or `nobody` when the worker is root, else the worker's own user; given as
   * undefined: the worker's own user.
   */
  instanceUser?: InstanceUser | undefined;
}

function forward(progress: Progress) {
  return (e: EngineEvent) => {
    const name = (urn: string) => urn.split("::").pop();
    if (e.resourcePreEvent)
      progress(`${e.resourcePreEvent.metadata.op} ${name(e.resourcePreEvent.metadata.urn)}`);
    else if (e.resOutputsEvent)
      progress(`${e.resOutputsEvent.metadata.op} ${name(e.resOutputsEvent.metadata.urn)} done`);
    else if (e.resOpFailedEvent) progress(`operation failed: ${e.resOpFailedEvent.metadata.op}`);
    else if (e.diagnosticEvent && (e.diagnosticEvent.severity as string) !== "debug")
      progress(`${e.diagnosticEvent.severity}: ${e.diagnosticEvent.message.trim().slice(0, 500)}`);
    else if (e.summaryEvent) progress(`summary: ${JSON.stringify(e.summaryEvent.resourceChanges)}`);
  };
}

/** Kills every process of the stack still alive outside the Pulumi state (pidfiles, then instance keys). */
export async function reapStackProcesses(stateDir: string, stackName: string): Promise<number> {
  const { runDir } = localStackPaths(stateDir, stackName);
  const c = controller();
  let killed = 0;
  if (fs.existsSync(runDir)) {
    for (const f of fs.readdirSync(runDir)) {
      if (!f.endsWith(".json")) continue;
      const file = `${runDir}/${f}`;
      const pf = c.readPidFile(file);
      if (pf && (await c.reap(file, pf.key))) killed++;
      fs.rmSync(file, { force: true });
    }
    fs.rmSync(runDir, { recursive: true, force: true });
  }
  // Processes started by a create that died before writing its pidfile carry the key too.
  // Only this state folder's: the same stack name in another state folder on the host is not ours.
  killed += await c.reapKeys((key) => key.startsWith(`${stackName}/`), path.resolve(runDir));
  return killed;
}

/** A pending create of an instance would have had its key as ID (LocalProcess's create returns it). */
export const localPendingCreateIds: PendingCreateIds = (r) =>
  r.type === "pulumi-nodejs:dynamic:Resource" && typeof r.inputs?.key === "string" ? r.inputs.key : undefined;

function reportPending(progress: Progress, p: { imported: number; cleared: number }): void {
  if (p.imported > 0) progress(`imported ${p.imported} pending create(s) left by an interrupted update`);
  if (p.cleared > 0) progress(`cleared ${p.cleared} pending operation(s) left by an interrupted update`);
}

function reportCrashLeftovers(progress: Progress, locks: number, plugins: number, torn = 0): void {
  if (locks > 0) progress(`cleared ${locks} stale lock(s) left by a killed pulumi`);
  if (torn > 0) progress(`removed ${torn} torn checkpoint sidecar(s) left by a killed pulumi`);
  if (plugins > 0) progress(`stopped ${plugins} orphaned pulumi plugin process(es) left by a killed pulumi`);
}

export function createLocalInfraDriver(options: LocalInfraDriverOptions): InfraDriver {
  const { stateDir, pulumi } = options;
  const runAs = "instanceUser" in options ? options.instanceUser : instanceUserFor(process.env);

  /** The legacy-named stack of `ref`, when it exists and its state proves it is `ref`'s. */
  async function ownLegacyStack(ref: VersionEnvironmentRef, progress: Progress): Promise<string | undefined> {
    const legacy = legacyLocalStackName(ref);
    if (!legacy || !(await stackExists(pulumi, LOCAL_PROJECT, legacy))) return undefined;
    const { stack } = await openStack(pulumi, {
      projectName: LOCAL_PROJECT,
      stackName: legacy,
      program: async () => ({}),
    });
    if (await legacyStackIsOf(stack, legacy, ref, stateDir)) {
      progress(`stack ${legacy} was made under the previous naming and runs this version: adopting it`);
      return legacy;
    }
    progress(`stack ${legacy} (previous naming) is not this version's: left alone`);
    return undefined;
  }

  /** The stack `ref` provisions: its own when it exists, else its adopted legacy stack, else its own. */
  async function stackFor(ref: VersionEnvironmentRef, progress: Progress): Promise<string> {
    const own = localStackName(ref, stateDir);
    if (await stackExists(pulumi, LOCAL_PROJECT, own)) return own;
    return (await ownLegacyStack(ref, progress)) ?? own;
  }

  async function destroyStack(stackName: string, progress: Progress): Promise<boolean> {
    const existed = await stackExists(pulumi, LOCAL_PROJECT, stackName);
    if (existed) {
      const { stack, clearedLocks, reapedPlugins, repairedFiles } = await openStack(pulumi, {
        projectName: LOCAL_PROJECT,
        stackName,
        program: async () => ({}),
      });
      reportCrashLeftovers(progress, clearedLocks.length, reapedPlugins.length, repairedFiles.length);
      reportPending(progress, await resolvePendingOperations(stack, localPendingCreateIds));
      progress(`pulumi destroy ${stackName}`);
      await stack.destroy({ color: "never", onEvent: forward(progress) });
      await stack.workspace.removeStack(stackName);
    }
    // A pulumi killed earlier in this deployment may have left plugins that
    // nothing else would stop once this was the last Pulumi operation.
    reportCrashLeftovers(progress, 0, reapOrphanedPulumiPlugins(pulumi).length);
    const reaped = await reapStackProcesses(stateDir, stackName);
    if (reaped > 0) progress(`stopped ${reaped} process(es) of an interrupted create`);
    return existed || reaped > 0;
  }

  return {
    async provisionEnvironment(
      ref: VersionEnvironmentRef,
      spec: ProvisionSpec,
      progress: Progress,
      signal?: AbortSignal,
    ): Promise<ProvisionedEnvironment> {
      const stackName = await stackFor(ref, progress);
      if (runAs) {
        // The instance user enters the state folder down to its release and its own folder, nothing more.
        grantSearchPath(stateDir, spec.artifact.location);
        const { runDir } = localStackPaths(stateDir, stackName);
        fs.mkdirSync(runDir, { recursive: true });
        grantSearchPath(stateDir, path.join(runDir, "instance.home"));
        // The default Pulumi backend holds every version's env (encrypted, but with the dev passphrase).
        privateDir(path.join(stateDir, "pulumi"));
      }
      const program = localProgram({
        stackName,
        stateDir,
        command: spec.run.command,
        // run.command runs in the version's own release folder.
        cwd: spec.artifact.location,
        instances: spec.run.instances,
        healthPath: spec.run.healthPath,
        startTimeoutMs: spec.run.startTimeout,
        env: {
          ...spec.run.env,
          ...spec.env,
          SHIPSHAPE_SERVICE: ref.service,
          SHIPSHAPE_ENVIRONMENT: ref.environment,
          SHIPSHAPE_VERSION: ref.version,
          SHIPSHAPE_ARTIFACT_DIGEST: spec.artifact.digest,
        },
        ...(runAs ? { runAs: { uid: runAs.uid, gid: runAs.gid } } : {}),
      });
      const { stack, clearedLocks, reapedPlugins, repairedFiles } = await openStack(pulumi, {
        projectName: LOCAL_PROJECT,
        stackName,
        program,
      });
      reportCrashLeftovers(progress, clearedLocks.length, reapedPlugins.length, repairedFiles.length);
      const pending = await resolvePendingOperations(stack, localPendingCreateIds);
      reportPending(progress, pending);
      progress(`pulumi up ${stackName}`);
      // refresh first: an instance whose process died since the last run drops out
      // of the state (LocalProcess.read) and is started again by this same up.
      signal?.throwIfAborted();
      const result = await stack.up({
        color: "never",
        refresh: true,
        onEvent: forward(progress),
        ...(signal ? { signal } : {}),
      });
      reportCrashLeftovers(progress, 0, reapOrphanedPulumiPlugins(pulumi).length);
      const out = (k: string) => (result.outputs[k]?.value ?? []) as unknown[];
      const urls = out("urls") as string[];
      const pids = out("pids") as number[];
      const logFiles = out("logFiles") as string[];
      return {
        stackName,
        instances: urls.map((url, i) => ({ url, pid: pids[i], logFile: logFiles[i] })),
        outputs: Object.fromEntries(Object.entries(result.outputs).map(([k, v]) => [k, v.value])),
        clearedLocks: clearedLocks.length,
        clearedPendingOperations: pending.imported + pending.cleared,
        importedPendingCreates: pending.imported,
      };
    },

    async destroyEnvironment(ref: VersionEnvironmentRef, progress: Progress): Promise<{ existed: boolean }> {
      let existed = await destroyStack(localStackName(ref, stateDir), progress);
      const legacy = await ownLegacyStack(ref, progress);
      if (legacy) existed = (await destroyStack(legacy, progress)) || existed;
      return { existed };
    },
  };
}
