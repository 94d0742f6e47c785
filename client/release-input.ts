/**
 * A deployment's input, built the way a user's `shipshape deploy` builds it:
 * the release config (validated: a bad one never starts a deployment), the
 * migrations of its `database.migrations` folder, and the artifact with its
 * content digest. The CLI, the demo, the chaos suite and the benchmarks all
 * deploy through here.
 */
import path from "node:path";
import { artifactDigest, artifactKind } from "../lib/artifacts/content";
import { loadReleaseConfig, type Problem, type ReleaseConfig, suggest } from "../lib/config";
import { resolveImage } from "../lib/deployment/target-spec";
import type { DeploymentInput } from "../lib/deployment/types";
import { MigrationFileError } from "../lib/migrations/file-format";
import { MigrationBundleError, readMigrationBundle } from "./migration-bundle";

export interface ReleaseRequest {
  /** shipshape.yaml; relative paths in it are relative to its folder. */
  configPath: string;
  service: string;
  environment: string;
  version: string;
  /** Local target: a folder or .tar.gz/.tgz (relative to the current folder); AWS: an image (default aws.image). */
  artifact?: string;
  /**
   * The artifact's digest when it is already known (a rollback redeploys a
   * recorded release): the artifact is not read here, and the worker runs the
   * release with that digest — even after the folder it came from is gone.
   */
  artifactDigest?: string;
  requestedBy: string;
  reason?: string;
}

/** Why no deployment can start from the request; `problems`: the config's validate report when that is why. */
export class ReleaseInputError extends Error {
  override name = "ReleaseInputError";
  constructor(
    message: string,
    readonly problems?: Problem[],
  ) {
    super(message);
  }
}

function checkScope(config: ReleaseConfig, req: ReleaseRequest, configPath: string): void {
  if (config.service !== req.service) {
    throw new ReleaseInputError(
      `--service ${req.service} does not match the config's service "${config.service}" (${configPath})`,
    );
  }
  const environments = Object.keys(config.environments);
  if (!environments.includes(req.environment)) {
    const hint = suggest(req.environment, environments);
    throw new ReleaseInputError(
      `environment "${req.environment}" is not in ${configPath} (environments: ${environments.join(", ")})${hint ? ` — did you mean "${hint}"?` : ""}`,
    );
  }
}

/** The artifact and its digest: a local folder/tarball (required), or an image on AWS. */
async function artifactOf(
  config: ReleaseConfig,
  req: ReleaseRequest,
): Promise<{ artifact: string; artifactDigest?: string }> {
  const env = config.environments[req.environment]!;
  if (env.target === "aws") {
    return { artifact: req.artifact ?? resolveImage(env.aws?.image ?? "", req.version) };
  }
  if (!req.artifact) {
    throw new ReleaseInputError(
      `--artifact is required for ${req.environment} (target: local): the folder or .tar.gz of version ${req.version}`,
    );
  }
  const file = path.resolve(req.artifact);
  if (req.artifactDigest) return { artifact: file, artifactDigest: req.artifactDigest };
  const kind = artifactKind(file);
  if (!("kind" in kind)) throw new ReleaseInputError(kind.problem);
  return { artifact: file, artifactDigest: await artifactDigest(file) };
}

function migrationsOf(config: ReleaseConfig, baseDir: string): Pick<DeploymentInput, "migrations"> {
  if (!config.database) return {};
  const dir = path.resolve(baseDir, config.database.migrations);
  try {
    return { migrations: readMigrationBundle(dir) };
  } catch (err) {
    if (err instanceof MigrationFileError || err instanceof MigrationBundleError)
      throw new ReleaseInputError(err.message);
    throw err;
  }
}

export async function buildDeploymentInput(req: ReleaseRequest): Promise<DeploymentInput> {
  const configPath = path.resolve(req.configPath);
  const loaded = await loadReleaseConfig(configPath);
  if (!loaded.ok) {
    throw new ReleaseInputError(
      `not deploying: ${configPath} is invalid (nothing was started)`,
      loaded.problems,
    );
  }
  const { config } = loaded;
  checkScope(config, req, configPath);
  return {
    service: config.service,
    environment: req.environment,
    version: req.version,
    ...(await artifactOf(config, req)),
    requestedBy: req.requestedBy,
    reason: req.reason ?? "",
    config,
    configDigest: loaded.digest,
    ...migrationsOf(config, loaded.baseDir),
  };
}
