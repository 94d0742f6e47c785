/**
 * Local signing for `npm run dev` and `npm run demo`: ed25519 keys for the
 * approvers of one environment of a release config (made once with ssh-keygen,
 * kept in the state folder), their allowed-signers file, the worker's policy
 * folder pinning it (and the environment's approvals), and a copy of the
 * config whose environment names that signers file. Deploy with one key, approve
 * with another: four-eyes on verified identities, locally.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { parseDocument } from "yaml";
import { loadReleaseConfig } from "../lib/config";
import { isInside, repositoryRoot } from "../lib/config/contained-path";
import { fileRefs } from "../lib/config/files";
import type { Environment } from "../lib/config/schema";
import { APPROVALS_FILE, SIGNERS_FILE } from "../lib/signing/policy-dir";

type Approvals = NonNullable<Environment["approvals"]>;

export interface LocalSigning {
  /** Private key file per approver (unencrypted; local use only). */
  keys: Record<string, string>;
  signersFile: string;
  /** For the worker: `--policy` / SHIPSHAPE_POLICY_DIR. */
  policyDir: string;
  /** The release config with approvals.signers set for the environment (deploy with this one). */
  configPath: string;
}

/** Sets up signing for `environment` of the config at `configPath`, in `dir`. Keys are kept across runs. */
export async function ensureLocalSigning(
  dir: string,
  configPath: string,
  environment: string,
): Promise<LocalSigning> {
  const loaded = await loadReleaseConfig(configPath);
  if (!loaded.ok) throw new Error(`${configPath} is invalid; \`shipshape validate ${configPath}\` shows why`);
  const approvals = loaded.config.environments[environment]?.approvals;
  if (!approvals)
    throw new Error(`environment ${environment} of ${configPath} has no approvals section to sign`);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  // The signed copy names the original's migrations and app config files, and
  // a config may only name files inside its own repository (contained-path.ts).
  const root = repositoryRoot(path.dirname(path.resolve(configPath)));
  if (!isInside(root, fs.realpathSync(dir)))
    throw new Error(
      `local signing folder ${dir} is outside ${root}, the repository of ${configPath}: the signed copy of the config could not name its files; use a folder inside it (e.g. .shipshape/)`,
    );
  const policy = ensureSigningPolicy(dir, loaded.config.service, environment, approvals);
  const signedConfig = path.join(dir, path.basename(configPath));
  writeSignedConfig(configPath, environment, policy.signersFile, signedConfig);
  return { ...policy, configPath: signedConfig };
}

export type SigningPolicy = Omit<LocalSigning, "configPath">;

/**
 * A key per approver (made once with ssh-keygen, kept in `dir`), their
 * allowed-signers file, and the worker's policy folder pinning it with the
 * environment's approvals.
 */
export function ensureSigningPolicy(
  dir: string,
  service: string,
  environment: string,
  approvals: Pick<Approvals, "approvers" | "allowSelfApproval" | "timeout" | "onTimeout">,
): SigningPolicy {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const keys: Record<string, string> = {};
  const lines: string[] = [];
  for (const name of approvals.approvers) {
    const key = path.join(dir, `${name}_ed25519`);
    if (!fs.existsSync(key))
      execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", name, "-f", key]);
    keys[name] = key;
    lines.push(`${name} ${fs.readFileSync(`${key}.pub`, "utf8").trim()}`);
  }
  const signersFile = path.join(dir, SIGNERS_FILE);
  fs.writeFileSync(signersFile, `${lines.join("\n")}\n`);
  const scope = path.join(dir, "policy", service, environment);
  fs.mkdirSync(scope, { recursive: true });
  fs.copyFileSync(signersFile, path.join(scope, SIGNERS_FILE));
  const { approvers, allowSelfApproval, timeout, onTimeout } = approvals;
  fs.writeFileSync(
    path.join(scope, APPROVALS_FILE),
    `approvers: ${JSON.stringify(approvers)}\nallowSelfApproval: ${allowSelfApproval}\ntimeout: ${timeout / 1000}s\nonTimeout: ${onTimeout}\n`,
  );
  return { keys, signersFile, policyDir: path.join(dir, "policy") };
}

/**
 * A copy of the config at `out` whose environment names `signersFile`; the
 * files it refers to (migrations, app config) become absolute so the copy
 * can live anywhere.
 */
export function writeSignedConfig(
  configPath: string,
  environment: string,
  signersFile: string,
  out: string,
): void {
  const baseDir = path.dirname(path.resolve(configPath));
  const doc = parseDocument(fs.readFileSync(configPath, "utf8"));
  for (const ref of fileRefs(doc.toJS())) doc.setIn(ref.segments, path.resolve(baseDir, ref.value));
  doc.setIn(["environments", environment, "approvals", "signers"], path.resolve(signersFile));
  fs.writeFileSync(out, doc.toString());
}
