/**
 * The deployment context every message Shipshape sends to another system
 * carries (notification payloads and hook requests alike), so a receiver
 * parses one shape. Pure zod: built inside the workflow from its status.
 */
import { z } from "zod";
import { PHASES } from "../deployment/types";

export const DeploymentContextSchema = z
  .object({
    deploymentId: z.string(),
    service: z.string(),
    environment: z.string(),
    /** The version this deployment brings (green). */
    version: z.string(),
    /** The version that was serving when it started (blue); null on a first deployment. */
    previousVersion: z.string().nullable(),
    artifactDigest: z.string().nullable(),
    phase: z.enum(PHASES),
    /** Percent of traffic on each version now. */
    weights: z.object({ blue: z.number(), green: z.number() }),
    step: z.object({ index: z.number().int(), total: z.number().int() }),
    /** The stable address users hit, once known. */
    endpoint: z.string().nullable(),
    requestedBy: z.string(),
  })
  .meta({ description: "Which deployment a message is about and where it stands" });

export type DeploymentContext = z.infer<typeof DeploymentContextSchema>;

/** The fields of the workflow's status the context is made of (structural, so this module stays free of workflow code). */
export interface ContextSource {
  deploymentId: string;
  service: string;
  environment: string;
  version: string;
  blueVersion: string | null;
  artifactDigest: string | null;
  phase: DeploymentContext["phase"];
  weights: { blue: number; green: number };
  step: { index: number; total: number };
  endpoint: string | null;
  requestedBy: string;
}

export function deploymentContext(s: ContextSource): DeploymentContext {
  return {
    deploymentId: s.deploymentId,
    service: s.service,
    environment: s.environment,
    version: s.version,
    previousVersion: s.blueVersion,
    artifactDigest: s.artifactDigest,
    phase: s.phase,
    weights: { blue: s.weights.blue, green: s.weights.green },
    step: { index: s.step.index, total: s.step.total },
    endpoint: s.endpoint,
    requestedBy: s.requestedBy,
  };
}
