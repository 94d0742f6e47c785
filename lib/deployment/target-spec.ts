/**
 * What an activity needs to know about the environment it works on: the
 * target kind and that kind's settings from the release config. It travels
 * in every activity's key, so the worker builds the right target for each
 * call (one worker serves every service and environment). Pure.
 */
import { z } from "zod";
import type { AwsTarget, ReleaseConfig } from "../config/schema";

const HEALTH_PATH = z.string().default("/health");

export const LocalTargetSpec = z.object({
  kind: z.literal("local"),
  /** The service's public address (`environments.<env>.local.listen`); absent = a free port. */
  listen: z.string().optional(),
  /** run.healthPath: what the router probes on every instance. */
  healthPath: HEALTH_PATH,
});

export const AwsTargetSpec = z.object({
  kind: z.literal("aws"),
  aws: z.custom<AwsTarget>((v) => typeof v === "object" && v !== null, "the environment's aws section"),
  healthPath: HEALTH_PATH,
});

export const TargetSpec = z.discriminatedUnion("kind", [LocalTargetSpec, AwsTargetSpec]);
export type TargetSpec = z.output<typeof TargetSpec>;
export type TargetKind = TargetSpec["kind"];

/** A deployment started before targets were in the key ran on the local target. */
export const LEGACY_TARGET: TargetSpec = { kind: "local", healthPath: "/health" };

/** The target spec of one environment of a normalized release config. */
export function targetSpecOf(config: ReleaseConfig, environment: string): TargetSpec {
  const env = config.environments[environment];
  if (!env) throw new Error(`environment "${environment}" is not in the config`);
  const healthPath = config.run.healthPath;
  if (env.target === "aws") {
    if (!env.aws) throw new Error(`environment "${environment}" has target: aws but no aws section`);
    return { kind: "aws", aws: env.aws, healthPath };
  }
  return { kind: "local", healthPath, ...(env.local?.listen ? { listen: env.local.listen } : {}) };
}

/** An image reference with `$version` replaced by the version deployed (aws.image). */
export function resolveImage(image: string, version: string): string {
  return image.replaceAll("$version", version);
}
