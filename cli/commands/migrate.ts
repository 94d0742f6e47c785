// `shipshape migrate status|start|verify|complete|rollback|purge`: the
// parallel-schema migration engine (lib/migrations) on its own, without a
// deployment. Every subcommand is idempotent and safe to rerun after a crash.
//
//   start     applies the folder's pending migrations in order: every one but
//             the last is started and completed (no client uses those
//             intermediate versions); the last is left ACTIVE so the old and
//             new versions run side by side (`--complete` completes it too).
//             `--together` starts them all as one attempt instead, completing
//             none: the old version keeps its schema until `complete`, as in
//             a deployment.
//   verify    the gate before traffic: exit 1 when a check fails.
//   complete  contracts the active (or named) migration; old version gone.
//   rollback  rolls back the active (or named) migration; new data put aside.
//   purge     drops put-aside data older than --older-than.
//   convert   prints the operations (YAML) for the DDL of a .sql file that has
//             an exact equivalent, and lists with line numbers the statements
//             that have none (exit 1 when any). Needs no database.
//
// Exit codes: 0 success, 1 a migration command failed (or verify failed),
// 2 usage or migration-file errors. What runs: cli/actions/migrate.ts, loaded
// only when a subcommand runs.

import type { Command } from "commander";
import { type CliContext, defaultContext } from "../context";

export type MigrateSubcommand = "status" | "start" | "verify" | "complete" | "rollback" | "purge";

export interface MigrateOptions {
  databaseUrl?: string;
  dir: string;
  service?: string;
  env?: string;
  schema: string;
  lockTimeout: string;
  batchSize: string;
  batchDelay: string;
  json?: boolean;
  /** start --complete */
  complete?: boolean;
  /** start --together */
  together?: boolean;
  /** purge --older-than */
  olderThan?: string;
}

/** The options every subcommand takes. */
function withCommonOptions(cmd: Command): Command {
  return cmd
    .option("--database-url <url>", "PostgreSQL URL (default: $DATABASE_URL)")
    .option("--dir <folder>", "migrations folder", "migrations")
    .option(
      "--service <name>",
      "the service whose migrations these are (default: the folder's parent directory name)",
    )
    .option(
      "--env <environment>",
      "the environment (a deployment's migrations are scoped per service and environment; default: none)",
    )
    .option("--schema <name>", "schema holding the real tables", "public")
    .option("--lock-timeout <duration>", "lock_timeout of every DDL statement", "2s")
    .option("--batch-size <rows>", "backfill batch size", "1000")
    .option("--batch-delay <duration>", "pause between backfill batches", "0ms")
    .option("--json", "print the result as JSON");
}

export function registerMigrateCommand(program: Command, ctx: CliContext = defaultContext()): Command {
  const migrate = program
    .command("migrate")
    .description("parallel-schema database migrations (expand/contract) without a deployment");

  const run = async (subcommand: MigrateSubcommand, opts: MigrateOptions, name?: string) => {
    const actions = await import("../actions/migrate");
    await actions.migrate(ctx, subcommand, opts, name);
  };

  withCommonOptions(
    migrate.command("status").description("migrations recorded in the database and pending in the folder"),
  ).action((opts: MigrateOptions) => run("status", opts));

  withCommonOptions(
    migrate
      .command("start [name]")
      .description(
        "start pending migrations; the last (or the named one) stays active beside the old version",
      )
      .option("--complete", "also complete the last migration (no old version to keep)")
      .option(
        "--together",
        "start them all as one attempt, completing none: the old version keeps its schema until complete",
      ),
  ).action((name: string | undefined, opts: MigrateOptions) => run("start", opts, name));

  withCommonOptions(
    migrate
      .command("verify [name]")
      .description("the gate before traffic: views, round trips, backfill, constraints, indexes"),
  ).action((name: string | undefined, opts: MigrateOptions) => run("verify", opts, name));

  withCommonOptions(
    migrate.command("complete [name]").description("contract: drop the old version (after promotion)"),
  ).action((name: string | undefined, opts: MigrateOptions) => run("complete", opts, name));

  withCommonOptions(
    migrate
      .command("rollback [name]")
      .description("undo the active migration; data the new version wrote is put aside"),
  ).action((name: string | undefined, opts: MigrateOptions) => run("rollback", opts, name));

  withCommonOptions(
    migrate
      .command("purge")
      .description("drop data put aside by rollbacks, once older than the retention period")
      .option("--older-than <duration>", "retention period", "7d"),
  ).action((opts: MigrateOptions) => run("purge", opts));

  migrate
    .command("convert <file>")
    .description(
      "print the operations (YAML) for a .sql file's DDL; list the statements with no equivalent (exit 1 if any)",
    )
    .option("--json", "print operations, unconverted statements and ignored ones as JSON")
    .action(async (file: string, opts: { json?: boolean }) => {
      const actions = await import("../actions/migrate-convert");
      await actions.convert(ctx, file, opts);
    });

  return migrate;
}
