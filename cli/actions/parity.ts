// What `shipshape parity <service> <envA> <envB>` does (declared in
// cli/commands/drift.ts): the effective release config of each environment
// (the one its last promotion ran with), and what runs there (a drift check
// through a worker of each: version, artifact digest, instances, router
// settings, migrations), compared row by row. Secrets are never shown: values
// that may hold one print as their `${env:…}` reference or as a short digest.
// Exit 0: the environments match, 1: they differ, 2: nothing to compare.

import { createHash } from "node:crypto";
import { checkDrift, DriftCheckError } from "../../client/drift";
import { connectTemporal } from "../../client/temporal-client";
import { configDifferences, type ParityRow, runtimeDifferences } from "../../lib/drift/parity";
import { formatTable } from "../../lib/text-table";
import type { DriftOptions } from "../commands/drift";
import { type CliContext, EXIT_FAILED, EXIT_OK } from "../context";
import { CliError } from "../errors";

const mask = (value: string) =>
  `(literal value, sha256:${createHash("sha256").update(value).digest("hex").slice(0, 12)})`;

export async function showParity(
  ctx: CliContext,
  service: string,
  envA: string,
  envB: string,
  options: DriftOptions,
): Promise<void> {
  if (envA === envB) throw new CliError(`parity compares two environments; both are ${envA}`);
  const temporal = await connectTemporal();
  try {
    const check = (environment: string) =>
      checkDrift(
        temporal.client,
        { service, environment },
        {
          ...(options.taskQueue ? { taskQueue: options.taskQueue } : {}),
        },
      ).catch((err) => {
        if (err instanceof DriftCheckError) throw new CliError(err.message);
        throw err;
      });
    const a = await check(envA);
    const b = await check(envB);
    const migrations = (m: typeof a.promoted.migrations) =>
      m?.files.length ? m.files.map((f) => `${f.file}@${f.sha256.slice(0, 12)}`).join(", ") : "none";
    const serving = (r: typeof a.report) => r.serving;
    const rows: ParityRow[] = [
      ...configDifferences(
        a.promoted.config as unknown as Record<string, unknown>,
        envA,
        b.promoted.config as unknown as Record<string, unknown>,
        envB,
        mask,
      ),
      ...runtimeDifferences([
        { what: "promoted version", a: a.promoted.version, b: b.promoted.version },
        {
          what: "artifact digest",
          a: a.promoted.artifactDigest ?? "unknown",
          b: b.promoted.artifactDigest ?? "unknown",
        },
        {
          what: "running version",
          a: serving(a.report)?.version ?? "none",
          b: serving(b.report)?.version ?? "none",
        },
        {
          what: "running instances",
          a: String(serving(a.report)?.instances.length ?? 0),
          b: String(serving(b.report)?.instances.length ?? 0),
        },
        {
          what: "router weight of blue",
          a: String(serving(a.report)?.weight ?? "-"),
          b: String(serving(b.report)?.weight ?? "-"),
        },
        {
          what: "staged artifact digest",
          a: a.report.artifactDigest ?? "unknown",
          b: b.report.artifactDigest ?? "unknown",
        },
        {
          what: "migrations promoted",
          a: migrations(a.promoted.migrations),
          b: migrations(b.promoted.migrations),
        },
        {
          what: "drift",
          a: a.report.differences.length ? `${a.report.differences.length} difference(s)` : "none",
          b: b.report.differences.length ? `${b.report.differences.length} difference(s)` : "none",
        },
      ]),
    ];
    ctx.exitCode = rows.length > 0 ? EXIT_FAILED : EXIT_OK;
    if (options.json) {
      ctx.stdout(
        JSON.stringify(
          { service, environments: [envA, envB], same: rows.length === 0, differences: rows },
          null,
          2,
        ),
      );
      return;
    }
    if (rows.length === 0) {
      ctx.stdout(`✓ ${service}: ${envA} and ${envB} match (config, artifact, instances, router, migrations)`);
      return;
    }
    ctx.stdout(`✗ ${service}: ${rows.length} difference(s) between ${envA} and ${envB}:`);
    ctx.stdout(
      formatTable(
        [{ header: "what" }, { header: envA }, { header: envB }],
        rows.map((r) => [r.what, r.a, r.b]),
        {
          indent: "  ",
          rule: true,
        },
      ).join("\n"),
    );
  } finally {
    await temporal.close();
  }
}
