/**
 * The worker's trust root (`shipshape worker --policy <dir>`): per service
 * and environment, the signers file it accepts and, optionally, the approvals
 * policy.
 *
 *   <dir>/<service>/<environment>/allowed_signers   required for a signed environment
 *   <dir>/<service>/<environment>/approvals.yaml    optional: approvers, allowSelfApproval, timeout, onTimeout
 *
 * Files are read on every lookup, so an edit (a revoked key) counts for the
 * decisions that follow, without restarting the worker. A service and
 * environment with no folder runs unsigned only.
 */
import fs from "node:fs";
import path from "node:path";
import { parse as parseYaml } from "yaml";
import { type Approvals, ApprovalsSchema } from "../config/schema";
import { parseAllowedSigners } from "./allowed-signers";

export interface PinnedPolicy {
  /** Where it was read from (messages name it). */
  signersFile: string;
  signers: string;
  approvalsFile: string | null;
  approvals: Approvals | null;
}

export interface SigningPolicyStore {
  /** What the worker prints at start: the folder and what it pins. */
  describe(): string;
  lookup(service: string, environment: string): Promise<PinnedPolicy | null>;
}

export class PolicyError extends Error {
  override name = "PolicyError";
}

export const SIGNERS_FILE = "allowed_signers";
export const APPROVALS_FILE = "approvals.yaml";

/** Opens a policy folder; throws PolicyError (with the fix) when it is missing or any file in it is invalid. */
export function openPolicyDirectory(dir: string): SigningPolicyStore {
  const root = path.resolve(dir);
  if (!fs.existsSync(root) || !fs.statSync(root).isDirectory()) {
    throw new PolicyError(
      `policy folder ${root} does not exist: create ${root}/<service>/<environment>/${SIGNERS_FILE} (npm run dev writes one)`,
    );
  }
  const scopes = listScopes(root);
  for (const [service, environment] of scopes) readPolicy(root, service, environment);
  return {
    describe: () =>
      `${root} (${scopes.map(([s, e]) => `${s}/${e}`).join(", ") || "no service pinned: only unsigned deployments"})`,
    lookup: async (service, environment) => readPolicy(root, service, environment),
  };
}

function listScopes(root: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const service of fs.readdirSync(root)) {
    const serviceDir = path.join(root, service);
    if (!fs.statSync(serviceDir).isDirectory()) continue;
    for (const environment of fs.readdirSync(serviceDir)) {
      if (fs.existsSync(path.join(serviceDir, environment, SIGNERS_FILE))) out.push([service, environment]);
    }
  }
  return out;
}

function readPolicy(root: string, service: string, environment: string): PinnedPolicy | null {
  const dir = path.join(root, service, environment);
  const signersFile = path.join(dir, SIGNERS_FILE);
  if (!fs.existsSync(signersFile)) return null;
  const signers = fs.readFileSync(signersFile, "utf8");
  const parsed = parseAllowedSigners(signers);
  const bad = parsed.problems[0];
  if (bad) throw new PolicyError(`${signersFile}:${bad.line}: ${bad.message}`);
  if (parsed.entries.length === 0) throw new PolicyError(`${signersFile} lists no key`);
  const approvalsFile = path.join(dir, APPROVALS_FILE);
  if (!fs.existsSync(approvalsFile)) return { signersFile, signers, approvalsFile: null, approvals: null };
  const result = ApprovalsSchema.safeParse(parseYaml(fs.readFileSync(approvalsFile, "utf8")));
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join(".") || "(top)"}: ${i.message}`);
    throw new PolicyError(`${approvalsFile}: ${issues.join("; ")}`);
  }
  return { signersFile, signers, approvalsFile, approvals: result.data };
}
