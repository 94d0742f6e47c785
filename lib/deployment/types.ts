/**
 * Contracts of DeploymentWorkflow: workflow input/result and the
 * payloads of its activities. Pure zod, importable from workflow code.
 */
import { z } from "zod";
import {
  MAX_BY_LENGTH,
  MAX_NAME_LENGTH,
  MAX_REASON_LENGTH,
  MAX_VERSION_LENGTH,
  tooLong,
} from "../config/limits";
import type { ReleaseConfig } from "../config/schema";
import { LEGACY_TARGET, TargetSpec } from "./target-spec";

const slug = z.string().regex(/^[a-z0-9][a-z0-9-]*$/, "lowercase letters, digits and dashes");

/**
 * The normalized release config (lib/config ReleaseConfig). It was validated by
 * `loadReleaseConfig` before the start; the workflow checks the parts it relies
 * on structurally (the normalized form cannot be re-parsed by the input schema)
 * and the preflight activity re-validates the file when `configPath` is given.
 */
const ReleaseConfigShape = z.custom<ReleaseConfig>(
  (v) => {
    if (typeof v !== "object" || v === null) return false;
    const c = v as Record<string, unknown>;
    const release = c.release as Record<string, unknown> | undefined;
    return (
      typeof c.service === "string" &&
      typeof c.environments === "object" &&
      c.environments !== null &&
      typeof c.run === "object" &&
      typeof release === "object" &&
      release !== null &&
      Array.isArray(release.steps) &&
      release.steps.length > 0 &&
      typeof release.postPromotion === "object"
    );
  },
  { message: "config must be a normalized release config (loadReleaseConfig(...).config)" },
);

/**
 * The release's migration files as the CLI read them at deploy time (the
 * config's `database.migrations` folder): name, text and sha256 of each, in
 * file-name order, and the digest of the whole set. They travel in the input
 * so a run is self-contained: the worker needs no migrations folder, and a
 * replay sees the same files.
 */
export const MigrationFile = z.object({
  /** File name, e.g. 0002_add_tags.yaml (the migration's name defaults to it without extension). */
  file: z.string().min(1),
  content: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});
export type MigrationFile = z.infer<typeof MigrationFile>;

export const MigrationBundle = z.object({
  files: z.array(MigrationFile),
  /** sha256 over the files' names and digests. */
  digest: z.string(),
});
export type MigrationBundle = z.infer<typeof MigrationBundle>;

export const DeploymentInput = z.object({
  service: slug,
  environment: slug,
  version: z.string().min(1).max(100),
  /** What is deployed: a folder or .tar.gz on the local target, an image on AWS; preflight stages it. */
  artifact: z.string().min(1),
  /** Content digest of the artifact when the deployment was requested (the CLI takes it); the worker refuses other content. */
  artifactDigest: z.string().optional(),
  /** The migrations of the release (absent when the config has no database, or from callers that predate it). */
  migrations: MigrationBundle.optional(),
  requestedBy: z.string().min(1),
  reason: z.string().default(""),
  config: ReleaseConfigShape,
  /** sha256 of the canonical config (lib/config digest); kept in the memo. */
  configDigest: z.string().default(""),
  /** shipshape.yaml on the worker's file system: preflight re-validates it and runs the app-config gate. */
  configPath: z.string().optional(),
  /** Defaults to the workflow run ID; activities are idempotent per deploymentId + step. */
  deploymentId: z.string().min(1).optional(),
  /** The requester's signature and the signers file decisions are checked against (lib/signing). */
  signing: z
    .object({
      /** The allowed-signers file's text; the worker's policy must pin the same (preflight). */
      signers: z.string().min(1),
      /** sha256 of what is deployed, of the migration files ("" when there are none). */
      artifactDigest: z.string().default(""),
      migrationsDigest: z.string().default(""),
      time: z.string().min(1),
      nonce: z.string().min(1),
      signature: z.string().min(1),
      /** Nonces already used, carried by a continue-as-new so no signature is accepted twice. */
      usedNonces: z.array(z.string()).default([]),
    })
    .optional(),
  /**
   * Set only by the workflow when it continues as new: the state it carries
   * over (workflows/deployment/continuation.ts validates it; a start that
   * carries it is refused).
   */
  continued: z.unknown().optional(),
});
export type DeploymentInput = z.input<typeof DeploymentInput>;

/**
 * Length limits of what people type into a deployment (who, why) and of its
 * names; the CLI, the client and the workflow (behind a patch) refuse longer
 * ones with the field and the limit.
 */
export function inputLengthProblems(input: {
  service?: string;
  environment?: string;
  version?: string;
  requestedBy?: string;
  reason?: string;
}): string[] {
  return [
    tooLong("service", input.service, MAX_NAME_LENGTH),
    tooLong("environment", input.environment, MAX_NAME_LENGTH),
    tooLong("version", input.version, MAX_VERSION_LENGTH),
    tooLong("requestedBy (--as)", input.requestedBy, MAX_BY_LENGTH),
    tooLong("reason", input.reason, MAX_REASON_LENGTH),
  ].filter((p): p is string => p !== null);
}

/** The same for a decision's `by` and `reason` (update validators). */
export function decisionLengthProblem(args: { by?: unknown; reason?: unknown }): string | null {
  return (
    tooLong("`by`", typeof args.by === "string" ? args.by : undefined, MAX_BY_LENGTH) ??
    tooLong("`reason`", typeof args.reason === "string" ? args.reason : undefined, MAX_REASON_LENGTH)
  );
}
export type DeploymentInputParsed = z.output<typeof DeploymentInput>;

export const OUTCOMES = ["promoted", "rolled-back", "needs-attention"] as const;
export type Outcome = (typeof OUTCOMES)[number];

export const PHASES = [
  "validating",
  "preflight",
  "provisioning-green",
  "expanding-schema",
  "verifying-green",
  "awaiting-approval",
  "shifting-traffic",
  "paused",
  "post-promotion-watch",
  "keeping-previous",
  "finalizing",
  "rolling-back",
  "needs-attention",
  "promoted",
  "rolled-back",
] as const;
export type Phase = (typeof PHASES)[number];

export interface CompensationRecord {
  name: string;
  /** "traffic" runs first, then the rest in reverse registration order. */
  kind: "traffic" | "schema" | "infra" | "other";
  status: "registered" | "running" | "retrying" | "done" | "skipped";
  attempts: number;
  lastError: string | null;
  startedAtMs: number | null;
  endedAtMs: number | null;
  skippedBy?: string;
}

export interface DecisionRecord {
  atMs: number;
  kind:
    | "start"
    | "approve"
    | "reject"
    | "approval-timeout"
    | "drift"
    | "abort"
    | "cancel"
    | "pause"
    | "resume"
    | "promote"
    | "analysis"
    | "hook"
    | "retry-compensation"
    | "skip-compensation"
    | "failure";
  by: string;
  reason: string;
  /** The signature that proves `by` (signed environments): check it with `ssh-keygen -Y verify`. */
  signed?: SignedRecord;
}

export interface SignedRecord {
  fingerprint: string;
  /** The exact text that was signed. */
  statement: string;
  signature: string;
}

export interface DeploymentResult {
  deploymentId: string;
  outcome: Outcome;
  /** Why it rolled back / needs attention (null when promoted cleanly). */
  reason: string | null;
  /** Compensations in the order they ran, with their final status. */
  compensations: Array<Pick<CompensationRecord, "name" | "status" | "attempts">>;
  decisions: DecisionRecord[];
}

// ------------------------------------------------------------------ activity payloads

/** What every activity is keyed by (idempotency: deploymentId + step). */
export const ActivityKey = z.object({
  deploymentId: z.string().min(1),
  service: slug,
  environment: slug,
  version: z.string().min(1),
  /** The environment's target: which drivers the activity uses. */
  target: TargetSpec.default(LEGACY_TARGET),
});
export type ActivityKey = z.infer<typeof ActivityKey>;

export interface GreenEnvironment {
  stackName: string;
  instances: string[];
}

export interface BlueInfo {
  version: string;
  instances: string[];
}

/** Non-retryable ApplicationFailure types (retrying cannot fix them). */
/**
 * Failure type of a deployment of the version that is already serving
 * (refused at preflight, and by attachGreen should it ever get that far).
 * Thrown non-retryable; kept out of FAILURE_TYPES, whose values are part of
 * the workflow's activity options, so workflow histories replay unchanged.
 */
export const ALREADY_SERVING = "AlreadyServing";

/**
 * Failure type of a deployment refused because blue drifted and the
 * environment says `onDrift: fail` (preflight). Kept out of FAILURE_TYPES
 * for the same reason as ALREADY_SERVING.
 */
export const DRIFT_DETECTED = "DriftDetected";

export const FAILURE_TYPES = {
  invalidConfig: "InvalidConfig",
  missingArtifact: "MissingArtifact",
  /** The artifact exists but cannot be deployed: another artifact has its version label, it changed, or it is not a deployable kind. */
  invalidArtifact: "InvalidArtifact",
  invalidInput: "InvalidDeploymentInput",
  verificationFailed: "VerificationFailed",
  analysisFailed: "AnalysisFailed",
  /** A start whose signature does not verify (unsigned where signers are required, forged, stale). */
  signatureRefused: "SignatureRefused",
  /** The start's signers or approvals policy is not the one the worker pins (--policy). */
  policyMismatch: "PolicyMismatch",
  /**
   * A deployment that rolled back closes as a failed workflow of this type,
   * non-retryable, its DeploymentResult as the failure's only detail: the Web
   * UI's list and its "Failed" filter show it at a glance.
   */
  rolledBack: "DeploymentRolledBack",
} as const;
