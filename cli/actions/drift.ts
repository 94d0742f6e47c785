// What `shipshape drift <service>/<env>` does (declared in cli/commands/drift.ts):
// one drift check through the worker (client/drift.ts), printed as a table of
// differences. Exit 0: none, 1: drift, 2: nothing to compare / usage.

import { checkDrift, DriftCheckError } from "../../client/drift";
import { scheduleDrift, unscheduleDrift } from "../../client/drift-schedule";
import { connectTemporal } from "../../client/temporal-client";
import { parseDuration } from "../../lib/config/durations";
import { formatTable } from "../../lib/text-table";
import type { DriftOptions } from "../commands/drift";
import { type CliContext, EXIT_FAILED, EXIT_OK } from "../context";
import { CliError } from "../errors";

export function parseScope(ref: string): { service: string; environment: string } {
  const m = /^([a-z][a-z0-9-]*)[/:]([a-z][a-z0-9-]*)$/.exec(ref);
  if (!m) throw new CliError(`"${ref}" is not <service>/<environment>, e.g. shop/production`);
  return { service: m[1]!, environment: m[2]! };
}

/** `--every` / `--unschedule`: the Temporal Schedule that checks for drift (client/drift-schedule.ts). */
async function schedule(ctx: CliContext, ref: string, options: DriftOptions): Promise<void> {
  const scope = parseScope(ref);
  let everyMs = 0;
  if (options.every !== undefined) {
    const parsed = parseDuration(options.every);
    if (!parsed.ok || parsed.ms < 60_000)
      throw new CliError(`--every ${options.every}: give an interval of at least 1m, e.g. 15m`);
    everyMs = parsed.ms;
  }
  const temporal = await connectTemporal();
  try {
    if (options.unschedule) {
      const removed = await unscheduleDrift(temporal.client, scope);
      ctx.stdout(
        removed ? `✓ removed the drift schedule of ${ref}` : `${ref} had no drift schedule; nothing removed`,
      );
      return;
    }
    const id = await scheduleDrift(temporal.client, scope, everyMs, {
      ...(options.taskQueue ? { taskQueue: options.taskQueue } : {}),
    }).catch((err) => {
      if (err instanceof DriftCheckError) throw new CliError(err.message);
      throw err;
    });
    ctx.stdout(
      `✓ ${id}: drift of ${ref} is checked every ${options.every}; drift is sent to the worker log and the environment's notifications (event "drift-detected")\n` +
        `  remove it: shipshape drift ${ref} --unschedule`,
    );
  } finally {
    await temporal.close();
  }
}

export async function showDrift(ctx: CliContext, ref: string, options: DriftOptions): Promise<void> {
  if (options.every !== undefined || options.unschedule) return schedule(ctx, ref, options);
  const scope = parseScope(ref);
  const temporal = await connectTemporal();
  try {
    const { promoted, report } = await checkDrift(temporal.client, scope, {
      ...(options.taskQueue ? { taskQueue: options.taskQueue } : {}),
    }).catch((err) => {
      if (err instanceof DriftCheckError) throw new CliError(err.message);
      throw err;
    });
    const drifted = report.differences.length > 0;
    ctx.exitCode = drifted ? EXIT_FAILED : EXIT_OK;
    if (options.json) {
      ctx.stdout(
        JSON.stringify(
          {
            service: scope.service,
            environment: scope.environment,
            promoted: {
              workflowId: promoted.row.workflowId,
              runId: promoted.row.runId,
              version: promoted.version,
              artifactDigest: promoted.artifactDigest,
              instances: promoted.instances,
            },
            drift: drifted,
            differences: report.differences,
          },
          null,
          2,
        ),
      );
      return;
    }
    const head = `${scope.service}/${scope.environment}: compared with ${promoted.version} promoted by ${promoted.row.workflowId} (run ${promoted.row.runId})`;
    if (!drifted) {
      ctx.stdout(`✓ ${head}\n  no drift: router, stack, instances and artifact are as promoted`);
      return;
    }
    ctx.stdout(`✗ ${head}\n  ${report.differences.length} difference(s):`);
    const rows = report.differences.map((d) => [d.what, d.expected, d.actual]);
    ctx.stdout(
      formatTable([{ header: "what" }, { header: "expected" }, { header: "found" }], rows, {
        indent: "  ",
        rule: true,
      }).join("\n"),
    );
  } finally {
    await temporal.close();
  }
}
