/**
 * Names of AWS resources and stacks of the AWS target. AWS limits differ per
 * resource (target groups: 32 characters, [A-Za-z0-9-]); a name too long is
 * cut and suffixed with a short hash of the full name, so two versions never
 * collide on a shared prefix.
 */
import { createHash } from "node:crypto";

/** Pulumi project of the per-version environments and of the per-scope platform stack. */
export const AWS_PROJECT = "shipshape-aws";
export const AWS_PLATFORM_PROJECT = "shipshape-aws-platform";

export function sanitize(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/-+/g, "-")
    .replace(/^-|-$/g, "");
}

function shortHash(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 6);
}

/** `parts` joined by '-', sanitized, at most `max` characters (long names end in a 6-hex hash). */
export function awsName(parts: string[], max: number): string {
  const full = sanitize(parts.join("-"));
  if (full.length <= max) return full;
  const cut = full.slice(0, max - 7).replace(/-+$/, "");
  return `${cut}-${shortHash(full)}`;
}

export function versionStackName(ref: { service: string; environment: string; version: string }): string {
  return awsName([ref.service, ref.environment, ref.version], 100);
}

export function platformStackName(ref: { service: string; environment: string }): string {
  return awsName([ref.service, ref.environment], 100);
}

/**
 * Priority of a version's own listener rule (header `X-Shipshape-Version`):
 * it must win over the service's weighted rule (lower number), so it lies in
 * the 100 priorities below it, picked by a hash of the version. Without a
 * weighted rule (the listener's default action splits traffic) any priority
 * wins over the default action; the range is then 49000–49999.
 */
export function versionRulePriority(platformPriority: number | undefined, version: string): number {
  const h = Number.parseInt(shortHash(version), 16);
  if (platformPriority === undefined) return 49_000 + (h % 1000);
  const span = Math.min(100, platformPriority - 1);
  if (span < 1)
    throw new Error(`aws.rule.priority ${platformPriority} leaves no room for version rules below it`);
  return platformPriority - 1 - (h % span);
}
