/**
 * The notification a scheduled drift check sends (event `drift-detected`):
 * the same payload schema as a deployment's events, so a receiver parses one
 * shape. There is no deployment running: `deployment` describes what serves
 * (the promoted version at full weight) and `deploymentId` is the check's own
 * workflow ID, which is also the idempotency key's prefix. Pure.
 */
import type { DriftDifference } from "../drift/differences";
import { NOTIFICATION_SCHEMA_VERSION, type Notification } from "./payload";

export interface DriftCheckFacts {
  /** The scheduled check's workflow ID (unique per check). */
  checkId: string;
  service: string;
  environment: string;
  version: string | null;
  artifactDigest: string | null;
  differences: DriftDifference[];
  summary: string;
  /** When the check ran (ISO 8601, workflow time). */
  at: string;
}

export function driftNotification(f: DriftCheckFacts): Notification {
  const ref = `${f.service}/${f.environment}`;
  return {
    schemaVersion: NOTIFICATION_SCHEMA_VERSION,
    id: `${f.checkId}:1`,
    sequence: 1,
    event: "drift-detected",
    at: f.at,
    deployment: {
      deploymentId: f.checkId,
      service: f.service,
      environment: f.environment,
      version: f.version ?? "none",
      previousVersion: null,
      artifactDigest: f.artifactDigest,
      phase: "promoted",
      weights: { blue: 100, green: 0 },
      step: { index: 0, total: 0 },
      endpoint: null,
      requestedBy: "shipshape drift schedule",
    },
    summary: f.summary.length > 500 ? `${f.summary.slice(0, 499)}…` : f.summary,
    details: {
      differences: f.differences.map((d) => ({ what: d.what, expected: d.expected, actual: d.actual })),
    },
    commands: { status: `shipshape drift ${ref}` },
  };
}
