/**
 * Shared setup of the security tests: real ed25519 keys made by ssh-keygen,
 * an allowed-signers file, the worker's policy folder, and signed starts and
 * decisions made by the same client code the CLI uses.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { TestWorkflowEnvironment } from "@temporalio/testing";
import { decisionArgs, signDecision } from "../../client/decisions";
import { signStart } from "../../client/signed-start";
import { keyFileSigner } from "../../client/signing/signer";
import type { ReleaseConfig } from "../../lib/config/schema";
import type { DeploymentInput } from "../../lib/deployment/types";
import { openPolicyDirectory } from "../../lib/signing/policy-dir";
import {
  approvalsPolicy,
  type DecisionAction,
  sha256Hex,
  startStatement,
} from "../../lib/signing/statements";
import { approveUpdate, type GateDecisionArgs, statusQuery } from "../../workflows/deployment/messages";
import {
  type DeploymentHandle,
  type Harness,
  input,
  type RunContext,
  releaseConfig,
  withDeployment,
} from "../support/deployment-harness";
import { createFakes, type Fakes } from "../support/fakes";

export interface Person {
  name: string;
  /** Unencrypted OpenSSH private key file. */
  key: string;
  /** "ssh-ed25519 AAAA… comment" */
  pub: string;
}

/** A fresh folder with an ed25519 key per name (ssh-keygen: the tool users have). */
export function makePeople(names: string[]): { dir: string; people: Record<string, Person> } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "shipshape-security-"));
  const people: Record<string, Person> = {};
  for (const name of names) {
    const key = path.join(dir, `${name}_ed25519`);
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", name, "-f", key]);
    people[name] = { name, key, pub: fs.readFileSync(`${key}.pub`, "utf8").trim() };
  }
  return { dir, people };
}

/** allowed_signers text: "principals key" per line. */
export function signersText(lines: Array<[string, Person]>): string {
  return `${lines.map(([principals, p]) => `${principals} ${p.pub}`).join("\n")}\n`;
}

/** A config folder (shipshape.yaml path + its allowed_signers), as a starter has it. */
export function configFolder(root: string, name: string, signers: string): string {
  const dir = path.join(root, name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "allowed_signers"), signers);
  return path.join(dir, "shipshape.yaml");
}

/** The worker's policy folder for shop/production. */
export function policyFolder(root: string, signers: string, approvalsYaml?: string): string {
  const dir = path.join(root, "policy");
  const scope = path.join(dir, "shop", "production");
  fs.mkdirSync(scope, { recursive: true });
  fs.writeFileSync(path.join(scope, "allowed_signers"), signers);
  if (approvalsYaml) fs.writeFileSync(path.join(scope, "approvals.yaml"), approvalsYaml);
  return dir;
}

export const APPROVALS_YAML = "approvers: [alice, bob]\nallowSelfApproval: false\ntimeout: 10m\n";

/** A release with a gate after the first step (no bakes: the test acts in real time) and signers. */
export function signedConfig(): ReleaseConfig {
  return releaseConfig(
    {
      steps: [{ weight: 10 }, { approval: "go-live" }, { weight: 100 }],
      postPromotion: { watch: "10s", keepPrevious: "1m" },
    },
    {
      approvals: {
        approvers: ["alice", "bob"],
        allowSelfApproval: false,
        timeout: "10m",
        signers: "./allowed_signers",
      },
    },
  );
}

/** Starts a deployment signed by `who` (with its config folder's signers file) — what `shipshape deploy --key` does. */
export function signedStarter(
  configPath: string,
  who: Person,
  overrides: {
    actor?: string;
    deploymentId?: string;
    usedNonces?: string[];
    workflowId?: string;
    /** What the start carries before signing (e.g. migrations, an artifact digest). */
    carry?: Partial<DeploymentInput>;
    /** Changes the input after it was signed (an attacker between the CLI and the server). */
    tamper?: (signed: DeploymentInput) => DeploymentInput;
  } = {},
) {
  return async (client: TestWorkflowEnvironment["client"], taskQueue: string): Promise<DeploymentHandle> => {
    const workflowId = overrides.workflowId ?? `shipshape:shop:production:${taskQueue}`;
    const base = {
      ...input(signedConfig(), { deploymentId: overrides.deploymentId ?? `dep-${taskQueue}` }),
      ...overrides.carry,
    };
    const signed = await signStart(base, {
      configPath,
      keyFile: who.key,
      workflowId,
      ...(overrides.actor ? { actor: overrides.actor } : {}),
    });
    const withNonces =
      overrides.usedNonces && signed.signing
        ? { ...signed, signing: { ...signed.signing, usedNonces: overrides.usedNonces } }
        : signed;
    const carried = overrides.tamper ? overrides.tamper(withNonces) : withNonces;
    return (await client.workflow.start("deploymentWorkflow", {
      taskQueue,
      workflowId,
      args: [carried],
    })) as DeploymentHandle;
  };
}

/** The update arguments `who` signs (what `shipshape <action> --key` sends). */
export async function signedArgs(
  handle: DeploymentHandle,
  action: DecisionAction,
  who: Person,
  o: { by?: string; reason?: string; gate?: string } = {},
) {
  const status = await handle.query(statusQuery);
  // One shape for every update (extra fields are ignored by the ones without a gate).
  return (await decisionArgs(status, action, {
    keyFile: who.key,
    reason: o.reason ?? "",
    ...o,
  })) as GateDecisionArgs;
}

/** The update's refusal message, or "accepted". */
export async function attempt(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => "accepted",
    (e: Error) => String((e.cause as Error | undefined)?.message ?? e.message),
  );
}

/** Arguments signed with `who`'s key but claiming to be `actor`: what an attacker bypassing the CLI sends. */
export async function forgedArgs(
  handle: DeploymentHandle,
  action: DecisionAction,
  who: Person,
  actor: string,
  o: { gate?: string; reason?: string; deploymentId?: string } = {},
) {
  const status = await handle.query(statusQuery);
  const subject = o.gate ?? "";
  const signed = await signDecision(keyFileSigner(who.key), {
    deploymentId: o.deploymentId ?? status.deploymentId,
    action,
    subject,
    actor,
    reason: o.reason ?? "",
  });
  return { by: actor, reason: o.reason ?? "", gate: o.gate ?? "", signed } satisfies GateDecisionArgs;
}

/**
 * A start signed with `who`'s key that claims `claimed` as the requester: a
 * hand-made input (the CLI refuses to sign it), checked by the workflow itself.
 */
export function forgedStarter(configPath: string, who: Person, claimed: string) {
  return async (client: TestWorkflowEnvironment["client"], taskQueue: string): Promise<DeploymentHandle> => {
    const workflowId = `shipshape:shop:production:${taskQueue}`;
    const base = input(signedConfig(), { deploymentId: `dep-${taskQueue}` });
    const honest = await signStart(base, { configPath, keyFile: who.key, workflowId });
    const s = honest.signing as NonNullable<DeploymentInput["signing"]>;
    const approvals = base.config.environments.production?.approvals;
    const statement = startStatement({
      workflowId,
      deploymentId: honest.deploymentId as string,
      service: base.service,
      environment: base.environment,
      version: base.version,
      artifact: base.artifact,
      artifactDigest: s.artifactDigest ?? "",
      configDigest: sha256Hex(JSON.parse(JSON.stringify(base.config))),
      migrationsDigest: s.migrationsDigest ?? "",
      signersDigest: sha256Hex(s.signers),
      approvalsDigest: approvals ? sha256Hex(approvalsPolicy(approvals)) : "",
      actor: claimed,
      reason: base.reason ?? "",
      time: s.time,
      nonce: s.nonce,
    });
    const forged = {
      ...honest,
      requestedBy: claimed,
      signing: { ...s, signature: await keyFileSigner(who.key).sign(statement) },
    };
    return (await client.workflow.start("deploymentWorkflow", {
      taskQueue,
      workflowId,
      args: [forged],
    })) as DeploymentHandle;
  };
}

/** An approve update's answer ("accepted" or the refusal). */
export function approveWith(handle: DeploymentHandle, args: GateDecisionArgs): Promise<string> {
  return attempt(handle.executeUpdate(approveUpdate, { args: [args] }));
}

/** A deployment of signedConfig() on a worker with `policy` (a folder, or none), started by `starter`. */
export function withSignedDeployment<T>(
  h: Harness,
  policy: string | null,
  body: (ctx: RunContext, fakes: Fakes) => Promise<T>,
  starter: ReturnType<typeof signedStarter>,
): Promise<T> {
  const fakes = createFakes();
  fakes.deps.signingPolicy = policy ? openPolicyDirectory(policy) : null;
  return withDeployment(h, fakes, input(signedConfig()), (ctx) => body(ctx, fakes), starter);
}
