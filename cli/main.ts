// The `shipshape` CLI. buildProgram() assembles the commander program; each
// command is declared in its own module under ./commands (options, help,
// example) and loads what it runs from ./actions only when it runs, so
// `--help`, `validate` and every other command pay only for what they use.
// Usage errors exit 2 (commander's exitOverride), like config errors.

import fs from "node:fs";
import path from "node:path";
import { Command, CommanderError } from "commander";
import { TemporalUnreachableError } from "../client/errors";
import { CodecKeyError } from "../lib/codec/keys";
import { PROJECT_ROOT } from "../lib/runtime/paths";
import { registerCodecServer } from "./commands/codec-server";
import { registerControls } from "./commands/controls";
import { registerDemo } from "./commands/demo";
import { registerDeploy } from "./commands/deploy";
import { registerDev } from "./commands/dev";
import { registerDrift } from "./commands/drift";
import { registerList } from "./commands/list";
import { registerMigrateCommand } from "./commands/migrate";
import { registerReport } from "./commands/report";
import { registerStats } from "./commands/stats";
import { registerStatus } from "./commands/status";
import { registerValidate } from "./commands/validate";
import { registerWorker } from "./commands/worker";
import { type CliContext, defaultContext, EXIT_OK, EXIT_USAGE } from "./context";
import { CliError } from "./errors";

function packageVersion(): string {
  return (JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, "package.json"), "utf8")) as { version: string })
    .version;
}

export function buildProgram(ctx: CliContext = defaultContext()): Command {
  const program = new Command("shipshape")
    .description("Deployments made boring: blue/green + canary releases on Temporal, Pulumi and PostgreSQL")
    .version(packageVersion(), "-V, --version")
    .showSuggestionAfterError(true)
    // Program options only before the subcommand, so `deploy --version v2` is the
    // deploy option, not the CLI's own --version.
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({
      writeOut: (s) => ctx.stdout(s),
      writeErr: (s) => ctx.stderr(s),
    });
  registerValidate(program, ctx);
  registerMigrateCommand(program, ctx);
  registerDeploy(program, ctx);
  registerStatus(program, ctx);
  registerList(program, ctx);
  registerControls(program, ctx);
  registerStats(program, ctx);
  registerReport(program, ctx);
  registerDrift(program, ctx);
  registerDev(program, ctx);
  registerDemo(program, ctx);
  registerCodecServer(program, ctx);
  registerWorker(program, ctx);
  return program;
}

/** Runs the CLI with process.argv-style arguments and returns the exit code. */
export async function main(argv: readonly string[], ctx: CliContext = defaultContext()): Promise<number> {
  const program = buildProgram(ctx);
  try {
    await program.parseAsync([...argv]);
    return ctx.exitCode;
  } catch (error) {
    if (error instanceof CliError) {
      ctx.stderr(`✗ ${error.message}`);
      return error.exitCode;
    }
    if (error instanceof TemporalUnreachableError || error instanceof CodecKeyError) {
      ctx.stderr(`✗ ${error.message}`);
      return EXIT_USAGE;
    }
    if (error instanceof CommanderError) {
      // --help and --version end with exitCode 0; every other commander error is a usage error.
      return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    throw error;
  }
}
