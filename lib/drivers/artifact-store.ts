import type { VersionEnvironmentRef } from "./common";

/**
 * What a target runs a version from, once the artifact has been checked (and,
 * on targets that run from a folder, staged): `location` is what the infra
 * driver starts (a release folder, an image reference), `digest` identifies
 * the content (`sha256:<hex>`).
 */
export interface StagedArtifact {
  location: string;
  digest: string;
}

/** Why an artifact cannot be deployed; retrying does not help with any of them. */
export class ArtifactError extends Error {
  override name = "ArtifactError";
  constructor(
    readonly code: "missing" | "unsupported" | "conflict" | "changed" | "invalid",
    message: string,
  ) {
    super(message);
  }
}

/**
 * The artifacts of one target. `stage` is idempotent: the same artifact
 * under the same version label stages once and returns the same result; a
 * different artifact under a label that already exists is refused
 * (ArtifactError "conflict"), and so is content that no longer matches
 * `expectedDigest` (the digest taken when the deployment was requested).
 */
export interface ArtifactStore {
  stage(ref: VersionEnvironmentRef, artifact: string, expectedDigest: string | null): Promise<StagedArtifact>;
  /** The digest recorded for a version of a service on this target, or null when unknown. */
  digestOf(service: string, version: string): Promise<string | null>;
}
