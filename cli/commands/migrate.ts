// `shipshape migrate status|start|verify|complete|rollback|purge`: the
// parallel-schema migration engine (lib/migrations) on its own, without a
// deployment. Every subcommand is idempotent and safe to rerun after a crash.
//
//   start     applies the folder's pending migrations in order: every one but
//             the last is started and completed (no client uses those
//             intermediate versions); the last is left ACTIVE so the old and
//             new versions run side by side (`--complete` completes it too).
//   verify    the gate before traffic: exit 1 when a check fails.
//   complete  contracts the active (or named) migration; old version gone.
//   rollback  rolls back the active (or named) migration; new data put aside.
//   purge     drops put-aside data older than --older-than.
//
// Exit codes: 0 success, 1 a migration command failed (or verify failed),
// 2 usage or migration-file errors.

import path from "node:path";
import type { Command } from "commander";
import {
  type CommandResult,
  createMigrationEngine,
  type MigrationEngine,
  MigrationError,
  type StatusResult,
} from "../../lib/migrations/engine";
import { loadMigrationsDir, MigrationFileError } from "../../lib/migrations/file-format";
import { planMigrations } from "../../lib/migrations/plan";
import { type CliContext, defaultContext, EXIT_FAILED, EXIT_OK, EXIT_USAGE } from "../context";

interface MigrateOptions {
  databaseUrl?: string;
  dir: string;
  service?: string;
  env?: string;
  schema: string;
  lockTimeout: string;
  batchSize: string;
  batchDelay: string;
  json?: boolean;
}

const DURATION = /^(\d+)(ms|s|m|h|d)$/;
function parseDuration(text: string): number {
  const m = DURATION.exec(text.trim());
  if (!m) throw new MigrationError("VALIDATION", `invalid duration '${text}' (use e.g. 500ms, 30s, 15m, 7d)`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[
    m[2] as "ms" | "s" | "m" | "h" | "d"
  ];
  return Number(m[1]) * unit;
}

function positiveInt(text: string, what: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0)
    throw new MigrationError("VALIDATION", `${what} must be a non-negative integer`);
  return n;
}

/** `examples/shop/migrations` -> `shop`: the service owning the folder names its version schemas. */
function defaultService(dir: string): string {
  return path.basename(path.dirname(path.resolve(dir))) || "app";
}

export function registerMigrateCommand(program: Command, ctx: CliContext = defaultContext()): Command {
  const migrate = program
    .command("migrate")
    .description("parallel-schema database migrations (expand/contract) without a deployment");

  const common = (cmd: Command) =>
    cmd
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

  const run = async (opts: MigrateOptions, fn: (engine: MigrationEngine) => Promise<number>) => {
    const url = opts.databaseUrl ?? process.env.DATABASE_URL;
    try {
      if (!url)
        throw new MigrationError("VALIDATION", "no database: pass --database-url or set DATABASE_URL");
      const engine = createMigrationEngine({
        connectionString: url,
        service: opts.service ?? defaultService(opts.dir),
        ...(opts.env ? { environment: opts.env } : {}),
        schema: opts.schema,
        lockTimeoutMs: parseDuration(opts.lockTimeout),
        backfill: {
          batchSize: Math.max(1, positiveInt(opts.batchSize, "--batch-size")),
          delayMs: parseDuration(opts.batchDelay),
        },
        log: opts.json ? undefined : (m) => ctx.stderr(`  ${m}`),
      });
      try {
        ctx.exitCode = await fn(engine);
      } finally {
        await engine.close();
      }
    } catch (err) {
      if (err instanceof MigrationFileError) {
        ctx.stderr(err.message);
        ctx.exitCode = EXIT_USAGE;
      } else if (err instanceof MigrationError) {
        ctx.stderr(`migrate: ${err.message} [${err.code}${err.retryable ? ", retryable" : ""}]`);
        ctx.exitCode = err.code === "VALIDATION" || err.code === "NOT_FOUND" ? EXIT_USAGE : EXIT_FAILED;
      } else {
        ctx.stderr(`migrate: ${(err as Error).message}`);
        ctx.exitCode = EXIT_FAILED;
      }
    }
  };

  const print = (opts: MigrateOptions, data: unknown, text: string) => {
    ctx.stdout(opts.json ? JSON.stringify(data, null, 2) : text);
  };

  const describeResult = (r: CommandResult) =>
    `${r.migration}: ${r.command} ${r.alreadyDone ? "had nothing left to do" : `ran ${r.steps.length} step(s)`}; ` +
    `phase ${r.phase}; version schema ${r.versionSchema}` +
    (r.backfill.length
      ? `; backfilled ${r.backfill.map((b) => `${b.table} ${b.rowsDone} rows`).join(", ")}`
      : "");

  const activeName = async (engine: MigrationEngine, name?: string): Promise<string> => {
    if (name) return name;
    const st = await engine.status();
    if (!st.active) throw new MigrationError("NOT_FOUND", "no migration in progress; name one");
    return st.active.name;
  };

  common(
    migrate.command("status").description("migrations recorded in the database and pending in the folder"),
  ).action((opts: MigrateOptions) =>
    run(opts, async (engine) => {
      const st: StatusResult = await engine.status();
      let pending: string[] = [];
      try {
        pending = planMigrations(
          loadMigrationsDir(opts.dir).map((f) => f.definition),
          st,
        ).pending.map((d) => d.name);
      } catch (err) {
        if (!(err instanceof Error && /does not exist/.test(err.message))) throw err;
      }
      const lines = st.migrations.map(
        (m) =>
          `${m.name.padEnd(32)} ${m.phase.padEnd(12)} ${m.versionSchema}${m.attempt > 1 ? ` (attempt ${m.attempt})` : ""}` +
          (m.backfill.some((b) => !b.done)
            ? ` backfill ${m.backfill.map((b) => `${b.table}:${b.rowsDone}`).join(",")}`
            : "") +
          (m.lastError ? `\n${"".padEnd(33)}last error: ${m.lastError}` : ""),
      );
      const text = [
        lines.length ? lines.join("\n") : "no migrations recorded",
        `version schemas: ${st.versionSchemas.join(", ") || "none"}`,
        pending.length ? `pending in ${opts.dir}: ${pending.join(", ")}` : `nothing pending in ${opts.dir}`,
        st.aside.filter((a) => !a.purgedAt).length
          ? `put aside (kept until purge): ${st.aside
              .filter((a) => !a.purgedAt)
              .map((a) => `${a.table}${a.column ? `.${a.column}` : ""}`)
              .join(", ")}`
          : "",
      ]
        .filter(Boolean)
        .join("\n");
      print(opts, { ...st, pending }, text);
      return EXIT_OK;
    }),
  );

  common(
    migrate
      .command("start [name]")
      .description(
        "start pending migrations; the last (or the named one) stays active beside the old version",
      )
      .option("--complete", "also complete the last migration (no old version to keep)"),
  ).action((name: string | undefined, opts: MigrateOptions & { complete?: boolean }) =>
    run(opts, async (engine) => {
      const plan = planMigrations(
        loadMigrationsDir(opts.dir).map((f) => f.definition),
        await engine.status(),
      );
      let todo = plan.pending;
      if (name) {
        const at = todo.findIndex((d) => d.name === name);
        if (at < 0)
          throw new MigrationError("NOT_FOUND", `'${name}' is not a pending migration in ${opts.dir}`);
        todo = todo.slice(0, at + 1);
      }
      const results: CommandResult[] = [];
      for (const [i, def] of todo.entries()) {
        const last = i === todo.length - 1;
        results.push(await engine.start(def));
        if (!last || opts.complete) results.push(await engine.complete(def.name));
      }
      print(opts, results, results.length ? results.map(describeResult).join("\n") : "nothing pending");
      return EXIT_OK;
    }),
  );

  common(
    migrate
      .command("verify [name]")
      .description("the gate before traffic: views, round trips, backfill, constraints, indexes"),
  ).action((name: string | undefined, opts: MigrateOptions) =>
    run(opts, async (engine) => {
      const r = await engine.verify(name);
      print(
        opts,
        r,
        [
          `${r.migration}: ${r.ok ? "ready" : "NOT ready"}`,
          ...r.checks.map((c) => `  ${c.ok ? "✓" : "✗"} ${c.name}${c.detail ? ` — ${c.detail}` : ""}`),
        ].join("\n"),
      );
      return r.ok ? EXIT_OK : EXIT_FAILED;
    }),
  );

  common(
    migrate.command("complete [name]").description("contract: drop the old version (after promotion)"),
  ).action((name: string | undefined, opts: MigrateOptions) =>
    run(opts, async (engine) => {
      const r = await engine.complete(await activeName(engine, name));
      print(opts, r, describeResult(r));
      return EXIT_OK;
    }),
  );

  common(
    migrate
      .command("rollback [name]")
      .description("undo the active migration; data the new version wrote is put aside"),
  ).action((name: string | undefined, opts: MigrateOptions) =>
    run(opts, async (engine) => {
      const r = await engine.rollback(await activeName(engine, name));
      print(opts, r, describeResult(r));
      return EXIT_OK;
    }),
  );

  common(
    migrate
      .command("purge")
      .description("drop data put aside by rollbacks, once older than the retention period")
      .option("--older-than <duration>", "retention period", "7d"),
  ).action((opts: MigrateOptions & { olderThan: string }) =>
    run(opts, async (engine) => {
      const r = await engine.purgeRolledBack({ olderThanMs: parseDuration(opts.olderThan) });
      print(
        opts,
        r,
        r.purged.length
          ? `purged ${r.purged.map((a) => `${a.table}${a.column ? `.${a.column}` : ""} (was ${a.originalName})`).join(", ")}`
          : "nothing to purge",
      );
      return EXIT_OK;
    }),
  );

  return migrate;
}
