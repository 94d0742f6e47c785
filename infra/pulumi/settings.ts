/**
 * How the worker runs Pulumi: the state backend, the secrets provider and
 * where the CLI keeps its own files. Built once at the worker's entry from
 * its environment and flags (`pulumiSettingsFrom`) and passed down to every
 * target explicitly; nothing below reads or writes `process.env` to find it.
 *
 *   backend   PULUMI_BACKEND_URL: file://<dir> (default <state>/pulumi/backend),
 *             s3://<bucket>[/<prefix>], azblob://…, gs://…, or https://api.pulumi.com
 *             (Pulumi Cloud; PULUMI_ACCESS_TOKEN from the environment)
 *   secrets   PULUMI_CONFIG_PASSPHRASE (or …_FILE) for the passphrase provider, or a
 *             provider URL for new stacks (awskms://…, gcpkms://…, azurekeyvault://…,
 *             hashivault://…) — required outside dev (a worker without --dev, or
 *             any backend that is not a local file:// folder), except on Pulumi
 *             Cloud, whose default secrets provider is the service itself
 *   cli       the toolchain manifest's Pulumi when `npm run setup` recorded one, else `pulumi` on PATH
 */
import fs from "node:fs";
import path from "node:path";
import { readManifest } from "../../lib/runtime/toolchain-manifest";

/**
 * The documented development passphrase for the local file backend's secrets.
 * Used only by a worker started in dev mode (`npm run dev`, tests).
 */
export const DEV_PASSPHRASE = "shipshape-dev-passphrase";

export interface PulumiSettings {
  /** PULUMI_BACKEND_URL of every stack. */
  backendUrl: string;
  /** PULUMI_HOME (plugins, credentials) and the per-project work folders live here, on the worker. */
  homeDir: string;
  workRoot: string;
  /** The passphrase secrets provider's passphrase; unset with another provider or on Pulumi Cloud. */
  passphrase?: string;
  /** Secrets provider of new stacks (`--secrets-provider`), e.g. awskms://alias/shipshape. */
  secretsProvider?: string;
  /** Install root holding bin/pulumi (toolchain); undefined = `pulumi` on PATH. */
  cliRoot?: string;
  /** Folder prepended to PATH so the CLI finds its plugins (toolchain); undefined = none. */
  pluginDir?: string;
}

export class PulumiSettingsError extends Error {
  override name = "PulumiSettingsError";
}

/** The folder of a file:// backend, or undefined for a remote backend (S3, Pulumi Cloud, …). */
export function fileBackendDir(settings: Pick<PulumiSettings, "backendUrl">): string | undefined {
  const url = settings.backendUrl;
  if (!url.startsWith("file://")) return undefined;
  const rest = url.slice("file://".length);
  return rest === "~" || rest.startsWith("~/") ? undefined : path.resolve(rest);
}

function isPulumiCloud(url: string): boolean {
  return /^https?:\/\//.test(url);
}

function readPassphrase(env: Record<string, string | undefined>): string | undefined {
  if (env.PULUMI_CONFIG_PASSPHRASE !== undefined) return env.PULUMI_CONFIG_PASSPHRASE;
  const file = env.PULUMI_CONFIG_PASSPHRASE_FILE;
  if (!file) return undefined;
  try {
    return fs.readFileSync(file, "utf8").replace(/\r?\n$/, "");
  } catch (err) {
    throw new PulumiSettingsError(
      `PULUMI_CONFIG_PASSPHRASE_FILE=${file} cannot be read: ${(err as Error).message}`,
    );
  }
}

export interface PulumiSettingsInput {
  /** The worker's state folder; the default file backend, PULUMI_HOME and work folders go below it. */
  stateDir: string;
  /** The worker's environment (read only). */
  env: Record<string, string | undefined>;
  /** Dev mode: the documented dev passphrase is the default. */
  dev: boolean;
  /** `--secrets-provider` (wins over SHIPSHAPE_PULUMI_SECRETS_PROVIDER). */
  secretsProvider?: string;
}

/**
 * Settings from the worker's environment. Outside dev a file or object-store
 * backend needs a passphrase or a secrets provider: the deploy-time env of a
 * version is stored as Pulumi secrets, and a default passphrase would make
 * them readable to anyone who can read the state.
 */
export function pulumiSettingsFrom(input: PulumiSettingsInput): PulumiSettings {
  const { env, stateDir } = input;
  const root = path.join(stateDir, "pulumi");
  const backendUrl = env.PULUMI_BACKEND_URL || `file://${path.join(root, "backend")}`;
  const secretsProvider = input.secretsProvider ?? (env.SHIPSHAPE_PULUMI_SECRETS_PROVIDER || undefined);
  let passphrase = readPassphrase(env);
  const needsSecrets = !secretsProvider && !isPulumiCloud(backendUrl);
  if (needsSecrets && passphrase === "" && !input.dev) {
    throw new PulumiSettingsError(
      "PULUMI_CONFIG_PASSPHRASE is empty: an empty passphrase protects nothing outside dev; set a real one " +
        "(or PULUMI_CONFIG_PASSPHRASE_FILE), or pass --secrets-provider awskms://… / gcpkms://… / hashivault://…",
    );
  }
  if (passphrase === undefined && needsSecrets) {
    // The dev passphrase is published: only a dev worker on a file backend (its own
    // machine) falls back to it. A shared backend (s3://, gs://, azblob://) never does.
    const devFallback = input.dev && backendUrl.startsWith("file://");
    if (!devFallback) {
      throw new PulumiSettingsError(
        `the Pulumi backend ${backendUrl} needs a secrets provider: set PULUMI_CONFIG_PASSPHRASE ` +
          "(or PULUMI_CONFIG_PASSPHRASE_FILE), or pass --secrets-provider awskms://… / gcpkms://… / " +
          "hashivault://… (the published dev passphrase is only used by `shipshape worker --dev` " +
          "on a local file backend)",
      );
    }
    passphrase = DEV_PASSPHRASE;
  }
  let cliRoot: string | undefined;
  let pluginDir: string | undefined;
  try {
    const manifest = readManifest();
    cliRoot = path.dirname(path.dirname(manifest.pulumi.path));
    pluginDir = manifest.pulumi.pluginDir;
  } catch {
    // No toolchain manifest (a production host): the `pulumi` on PATH is used.
  }
  return {
    backendUrl,
    homeDir: env.PULUMI_HOME || path.join(root, "home"),
    workRoot: path.join(root, "work"),
    ...(passphrase !== undefined ? { passphrase } : {}),
    ...(secretsProvider ? { secretsProvider } : {}),
    ...(cliRoot ? { cliRoot } : {}),
    ...(pluginDir ? { pluginDir } : {}),
  };
}

/** Dev settings under a state folder (tests, the dev stack, benchmarks). */
export function devPulumiSettings(stateDir: string): PulumiSettings {
  return pulumiSettingsFrom({ stateDir, env: {}, dev: true });
}
