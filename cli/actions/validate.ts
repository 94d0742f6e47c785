// What `shipshape validate` does (declared in cli/commands/validate.ts):
// everything a deployment checks before its first side effect, without
// deploying. Exit 0 with a one-line summary when valid; exit 2 with the full
// report when not; --json prints the result as data.

import {
  formatDuration,
  formatProblems,
  type LoadResult,
  loadReleaseConfig,
  type Problem,
  type ReleaseConfig,
} from "../../lib/config";
import type { ValidateOptions } from "../commands/validate";
import { type CliContext, EXIT_OK, EXIT_USAGE } from "../context";

export function summarize(file: string, config: ReleaseConfig, digest: string, envNames: string[]): string {
  const steps = config.release.steps
    .map((s) =>
      s.kind === "traffic"
        ? `${s.weight}%${s.bake ? ` (${formatDuration(s.bake)})` : ""}`
        : `approval ${s.approval}`,
    )
    .join(" → ");
  const parts = [
    `service ${config.service}`,
    `environments ${Object.keys(config.environments).join(", ")}`,
    `steps ${steps}`,
  ];
  const metrics = config.release.analysis?.metrics.length ?? 0;
  if (metrics) parts.push(`${metrics} metric${metrics === 1 ? "" : "s"}`);
  if (config.appConfig.length)
    parts.push(
      `${config.appConfig.length} app config file${config.appConfig.length === 1 ? "" : "s"} checked`,
    );
  if (envNames.length) parts.push(`env ${envNames.join(", ")} resolved at deploy time`);
  parts.push(`digest ${digest.slice(0, 12)}`);
  return `✓ ${file} is valid: ${parts.join("; ")}`;
}

function toJson(result: LoadResult, summary?: string) {
  const problems: Problem[] = result.ok ? result.warnings : result.problems;
  return {
    ok: result.ok,
    file: result.file,
    ...(result.ok ? { digest: result.digest, summary } : {}),
    errors: problems.filter((p) => p.severity === "error").length,
    warnings: problems.filter((p) => p.severity === "warning").length,
    problems,
  };
}

export async function validate(ctx: CliContext, file: string, options: ValidateOptions): Promise<void> {
  const result = await loadReleaseConfig(file, {
    appConfigGate: options.appConfig !== false,
    ...(options.env ? { env: process.env, envRefSeverity: "error" as const } : {}),
  });
  const color = ctx.color && options.color !== false;
  const sources = result.source !== undefined ? { [result.file]: result.source } : {};
  if (result.ok) {
    const envNames = [...new Set(result.envRefs.map((r) => r.name))];
    const summary = summarize(file, result.config, result.digest, envNames);
    if (options.json) ctx.stdout(JSON.stringify(toJson(result, summary), null, 2));
    else {
      ctx.stdout(summary);
      if (result.warnings.length) ctx.stderr(formatProblems(result.warnings, { sources, color }));
    }
    ctx.exitCode = EXIT_OK;
    return;
  }
  if (options.json) ctx.stdout(JSON.stringify(toJson(result), null, 2));
  else ctx.stderr(formatProblems(result.problems, { sources, color }));
  ctx.exitCode = EXIT_USAGE;
}
