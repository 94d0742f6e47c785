/**
 * Signing a start: the requester signs the workflow id, the deployment id
 * (fixed here, carried by the run, never the run id), service, environment,
 * version and the digests of the artifact, the release config, the migrations,
 * the signers file and the approvals policy. An environment without
 * `approvals.signers` starts unsigned (development).
 */
import { randomBytes, randomUUID } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { DeploymentInput } from "../lib/deployment/types";
import { approvalsPolicy, sha256Hex, startStatement } from "../lib/signing/statements";
import { pathDigest } from "./release-digests";
import { chooseSigner } from "./signing/signer";
import { deploymentWorkflowId } from "./start";

export interface StartSigningOptions {
  /** shipshape.yaml: the signers file and the migrations folder are relative to its folder. */
  configPath: string;
  keyFile?: string;
  /** --as: which principal of the key, when it is listed for several. */
  actor?: string;
  agentSocket?: string;
  /** Where the artifact is resolved when it is a local path (default cwd). */
  artifactRoot?: string;
  /** Default shipshape:<service>:<environment> (what startDeployment uses). */
  workflowId?: string;
}

export async function signStart(input: DeploymentInput, o: StartSigningOptions): Promise<DeploymentInput> {
  const approvals = input.config.environments[input.environment]?.approvals;
  if (!approvals?.signers) return input;
  const baseDir = path.dirname(path.resolve(o.configPath));
  const signers = fs.readFileSync(path.resolve(baseDir, approvals.signers), "utf8");
  const { signer, actor } = await chooseSigner({
    signers,
    ...(o.keyFile ? { keyFile: o.keyFile } : {}),
    ...(o.actor ? { actor: o.actor } : {}),
    ...(o.agentSocket ? { agentSocket: o.agentSocket } : {}),
  });
  const deploymentId = input.deploymentId ?? randomUUID();
  const artifactPath = input.artifact.startsWith("file:") ? input.artifact.slice(5) : input.artifact;
  const database = input.config.database;
  // The digests of what the deployment carries (the artifact's content digest
  // the worker stages under, the migrations in the input), so the signature
  // covers exactly what runs; a rollback carries no migrations and signs "".
  // An input built without them (an image, older callers): what is on disk.
  const fields = {
    artifactDigest:
      input.artifactDigest ?? pathDigest(path.resolve(o.artifactRoot ?? process.cwd(), artifactPath)),
    migrationsDigest: input.migrations
      ? input.migrations.digest
      : database && !input.artifactDigest
        ? pathDigest(path.resolve(baseDir, database.migrations))
        : "",
    time: new Date().toISOString(),
    nonce: randomBytes(16).toString("hex"),
  };
  const reason = input.reason ?? "";
  const statement = startStatement({
    workflowId: o.workflowId ?? deploymentWorkflowId(input.service, input.environment),
    deploymentId,
    service: input.service,
    environment: input.environment,
    version: input.version,
    artifact: input.artifact,
    // What the workflow sees: the config after its trip through the payload converter.
    configDigest: sha256Hex(JSON.parse(JSON.stringify(input.config))),
    signersDigest: sha256Hex(signers),
    approvalsDigest: sha256Hex(approvalsPolicy(approvals)),
    actor,
    reason,
    ...fields,
  });
  const signature = await signer.sign(statement);
  return {
    ...input,
    requestedBy: actor,
    reason,
    deploymentId,
    signing: { signers, ...fields, signature },
  };
}
