import path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type { PulumiFn } from "@pulumi/pulumi/automation";
import { localStackName as stackNameOf } from "../../../lib/resource-names";
import { LocalProcess } from "./local-process";

/** Pulumi project of the local target; one stack per version environment. */
export const LOCAL_PROJECT = "shipshape-local";

/**
 * The stack of a version environment in the state folder `stateDir`: a
 * readable part and a hash of the exact service, environment, version and
 * (absolute) state folder (lib/resource-names.ts). Its instance keys are
 * `<stack>/<index>`.
 */
export function localStackName(
  ref: { service: string; environment: string; version: string },
  stateDir: string,
): string {
  return stackNameOf(ref, path.resolve(stateDir));
}

/**
 * The name stacks had before names carried a hash: `<service>-<env>-<version>`
 * sanitised and cut at 100 characters, so different versions could share it
 * (`1.2` and `1-2`, `shop/prod-eu` and `shop-prod/eu`). Only read, to find
 * the stacks made under it (driver.ts adopts the ones that prove they are
 * the version's own).
 */
export function legacyLocalStackName(ref: { service: string; environment: string; version: string }): string {
  return `${ref.service}-${ref.environment}-${ref.version}`
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/-+/g, "-")
    .replace(/^-|-$/g, "")
    .slice(0, 100);
}

/** Where one stack's pidfiles (removed on destroy) and logs (kept) live under the state folder. */
export function localStackPaths(stateDir: string, stackName: string) {
  return {
    runDir: path.join(stateDir, "local", "run", stackName),
    logDir: path.join(stateDir, "local", "logs", stackName),
  };
}

export interface LocalProgramArgs {
  stackName: string;
  stateDir: string;
  command: string;
  cwd: string;
  instances: number;
  healthPath: string;
  startTimeoutMs: number;
  /** The version's environment (already resolved), e.g. SHIPSHAPE_VERSION, DATABASE_URL. */
  env: Record<string, string>;
  /** The unprivileged user instances run as (a root worker); absent: the worker's user. */
  runAs?: { uid: number; gid: number };
}

/**
 * One version environment: `instances` LocalProcess resources. Instances are
 * created in parallel (the engine runs independent resources concurrently).
 * Outputs: urls, pids, ports, logFiles (index-aligned arrays).
 */
export function localProgram(args: LocalProgramArgs): PulumiFn {
  return async () => {
    const { runDir, logDir } = localStackPaths(args.stateDir, args.stackName);
    const procs: LocalProcess[] = [];
    for (let i = 0; i < args.instances; i++) {
      procs.push(
        new LocalProcess(`instance-${i}`, {
          key: `${args.stackName}/${i}`,
          command: args.command,
          cwd: args.cwd,
          env: args.env,
          healthPath: args.healthPath,
          startTimeoutMs: args.startTimeoutMs,
          pidFile: path.join(runDir, `instance-${i}.json`),
          logFile: path.join(logDir, `instance-${i}.log`),
          ...(args.runAs ? { runAs: args.runAs } : {}),
        }),
      );
    }
    return {
      urls: pulumi.all(procs.map((p) => p.url)),
      pids: pulumi.all(procs.map((p) => p.pid)),
      ports: pulumi.all(procs.map((p) => p.port)),
      logFiles: pulumi.all(procs.map((p) => p.logFile)),
    };
  };
}
