// What `shipshape report` does (declared in cli/commands/report.ts): one
// deployment run's report, from its Temporal history, as an HTML page or JSON.

import fs from "node:fs";
import path from "node:path";
import { deploymentReport, writeDeploymentReport } from "../../client/deployment-report";
import { connectTemporal } from "../../client/temporal-client";
import { NotADeploymentError } from "../../lib/report/extract";
import { duration } from "../../lib/report/html";
import type { ReportOptions } from "../commands/report";
import { type CliContext, EXIT_OK } from "../context";
import { resolveDeployment } from "../deployment-ref";
import { CliError } from "../errors";

export async function report(ctx: CliContext, ref: string, options: ReportOptions): Promise<void> {
  if (!options.html && !options.json) throw new CliError("say what to make: --html <file> or --json");
  const out = options.html ? path.resolve(options.html) : null;
  if (out && !fs.existsSync(path.dirname(out)))
    throw new CliError(`no folder ${path.dirname(out)} for ${options.html}`);
  const temporal = await connectTemporal();
  try {
    const handle = await resolveDeployment(temporal.client, ref);
    const model = await (out
      ? writeDeploymentReport(temporal.client, out, handle.workflowId, options.run)
      : deploymentReport(temporal.client, handle.workflowId, options.run)
    ).catch((err: unknown) => {
      if (err instanceof NotADeploymentError) throw new CliError(err.message);
      if (options.run && err instanceof Error && /not found/i.test(err.message))
        throw new CliError(
          `no run ${options.run} of ${handle.workflowId} — \`shipshape history\` lists runs`,
        );
      throw err;
    });
    if (options.json) ctx.stdout(JSON.stringify(model, null, 2));
    if (out) {
      const ttr = model.recovery ? `, time to recovery ${duration(model.recovery.ms)}` : "";
      const line = `${model.service}/${model.environment} ${model.version} (${model.outcome}${ttr}): ${out}`;
      (options.json ? ctx.stderr : ctx.stdout)(`report written — ${line}`);
    }
    ctx.exitCode = EXIT_OK;
  } finally {
    await temporal.close();
  }
}
