/**
 * `environments.<env>.requires.promotedIn` (Kargo-style stages): a deployment
 * to the environment is accepted only when the environment it names has
 * promoted the same artifact (digest) with the same migrations (file names
 * and digests). Checked against Temporal's record of promotions when the
 * deployment is started (startDeployment), before anything is sent to it.
 */
import type { Client } from "@temporalio/client";
import type { DeploymentInput, MigrationFile } from "../lib/deployment/types";
import { promotedDeployment, promotedRows } from "./promoted-deployments";

export class PromotionRequiredError extends Error {
  override name = "PromotionRequiredError";
}

type Migrations = ReadonlyArray<Pick<MigrationFile, "file" | "sha256">>;

/** What differs between the migrations to deploy and the ones promoted (empty: the same set). */
export function migrationDifferences(wanted: Migrations, promoted: Migrations): string[] {
  const there = new Map(promoted.map((m) => [m.file, m.sha256]));
  const here = new Set(wanted.map((m) => m.file));
  const out: string[] = [];
  for (const m of wanted) {
    const sha = there.get(m.file);
    if (sha === undefined) out.push(`${m.file} was not promoted there`);
    else if (sha !== m.sha256)
      out.push(`${m.file} differs (here ${m.sha256.slice(0, 12)}, there ${sha.slice(0, 12)})`);
  }
  for (const m of promoted)
    if (!here.has(m.file)) out.push(`${m.file} was promoted there but is not in this release`);
  return out;
}

/** Refuses (PromotionRequiredError) a start whose artifact and migrations were not promoted where the environment requires. */
export async function checkPromotionPath(client: Client, input: DeploymentInput): Promise<void> {
  const from = input.config.environments[input.environment]?.requires?.promotedIn;
  if (!from) return;
  const what = `${input.service} ${input.version} to ${input.environment}`;
  const rule = `environments.${input.environment}.requires.promotedIn is ${from}`;
  const digest = input.artifactDigest ?? null;
  const rows = await promotedRows(client, input.service, from);
  const same = rows.filter((r) => (digest ? r.artifactDigest === digest : r.artifact === input.artifact));
  if (same.length === 0) {
    const last = rows[0];
    throw new PromotionRequiredError(
      `cannot deploy ${what}: ${rule}, and artifact ${digest ?? input.artifact} has never been promoted in ${from} ` +
        `(last promoted there: ${last ? `${last.version}, artifact ${last.artifactDigest ?? last.artifact ?? "unknown"}` : "nothing"}). ` +
        `Deploy the same artifact to ${from} first: shipshape deploy --env ${from} …`,
    );
  }
  const wanted = input.migrations?.files ?? [];
  let closest: { version: string; problems: string[] } | null = null;
  for (const row of same.slice(0, 10)) {
    const promoted = await promotedDeployment(client, row);
    const problems = migrationDifferences(wanted, promoted.migrations?.files ?? []);
    if (problems.length === 0) return;
    if (!closest || problems.length < closest.problems.length)
      closest = { version: promoted.version, problems };
  }
  throw new PromotionRequiredError(
    `cannot deploy ${what}: ${rule}; artifact ${digest ?? input.artifact} was promoted there (${closest?.version}) but not with these migrations: ` +
      `${closest?.problems.join("; ")}. Deploy this release (artifact and migrations) to ${from} first`,
  );
}
