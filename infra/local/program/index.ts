import path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type { PulumiFn } from "@pulumi/pulumi/automation";
import { LocalProcess } from "./local-process";

/** Pulumi project of the local target; one stack per version environment. */
export const LOCAL_PROJECT = "shipshape-local";

/** `<service>-<env>-<version>`, lower-cased, anything outside [a-z0-9-] → '-', collapsed, ≤ 100 chars. */
export function localStackName(ref: { service: string; environment: string; version: string }): string {
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
