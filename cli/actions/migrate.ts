// What `shipshape migrate <subcommand>` does (declared in
// cli/commands/migrate.ts): one engine per call, one function per subcommand,
// and the engine's errors turned into exit codes (1 a migration command or a
// verify failed, 2 usage or migration-file errors).

import path from "node:path";
import {
  type CommandResult,
  createMigrationEngine,
  type MigrationEngine,
  MigrationError,
} from "../../lib/migrations/engine";
import { loadMigrationsDir, MigrationFileError } from "../../lib/migrations/file-format";
import { planMigrations } from "../../lib/migrations/plan";
import type { MigrateOptions, MigrateSubcommand } from "../commands/migrate";
import { type CliContext, EXIT_FAILED, EXIT_OK, EXIT_USAGE } from "../context";

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

function describeResult(r: CommandResult): string {
  return (
    `${r.migration}: ${r.command} ${r.alreadyDone ? "had nothing left to do" : `ran ${r.steps.length} step(s)`}; ` +
    `phase ${r.phase}; version schema ${r.versionSchema}` +
    (r.backfill.length
      ? `; backfilled ${r.backfill.map((b) => `${b.table} ${b.rowsDone} rows`).join(", ")}`
      : "")
  );
}

async function activeName(engine: MigrationEngine, name?: string): Promise<string> {
  if (name) return name;
  const st = await engine.status();
  if (!st.active) throw new MigrationError("NOT_FOUND", "no migration in progress; name one");
  return st.active.name;
}

interface Call {
  engine: MigrationEngine;
  opts: MigrateOptions;
  name: string | undefined;
  /** Prints `data` with --json, else `text`. */
  print(data: unknown, text: string): void;
}

async function status({ engine, opts, print }: Call): Promise<number> {
  const st = await engine.status();
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
      // Started with others as one attempt: they complete and roll back together.
      (m.together ? ` (one attempt with ${m.together.filter((n) => n !== m.name).join(", ")})` : "") +
      (m.backfill.some((b) => !b.done)
        ? ` backfill ${m.backfill.map((b) => `${b.table}:${b.rowsDone}`).join(",")}`
        : "") +
      (m.lastError ? `\n${"".padEnd(33)}last error: ${m.lastError}` : "") +
      // An unfinished migration says what happened and which command to run (never leave people guessing).
      (m.next ? `\n${"".padEnd(33)}next: ${m.next}` : ""),
  );
  const aside = st.aside.filter((a) => !a.purgedAt);
  const text = [
    lines.length ? lines.join("\n") : "no migrations recorded",
    `version schemas: ${st.versionSchemas.join(", ") || "none"}`,
    pending.length ? `pending in ${opts.dir}: ${pending.join(", ")}` : `nothing pending in ${opts.dir}`,
    aside.length
      ? `put aside (kept until purge): ${aside.map((a) => `${a.table}${a.column ? `.${a.column}` : ""}`).join(", ")}`
      : "",
  ]
    .filter(Boolean)
    .join("\n");
  print({ ...st, pending }, text);
  return EXIT_OK;
}

async function start({ engine, opts, name, print }: Call): Promise<number> {
  const plan = planMigrations(
    loadMigrationsDir(opts.dir).map((f) => f.definition),
    await engine.status(),
  );
  let todo = plan.pending;
  if (name) {
    const at = todo.findIndex((d) => d.name === name);
    if (at < 0) throw new MigrationError("NOT_FOUND", `'${name}' is not a pending migration in ${opts.dir}`);
    todo = todo.slice(0, at + 1);
  }
  const results: CommandResult[] = [];
  if (opts.together && todo.length > 0) {
    results.push(await engine.startTogether(todo));
    if (opts.complete) results.push(await engine.complete(todo.at(-1)!.name));
    todo = [];
  }
  for (const [i, def] of todo.entries()) {
    const last = i === todo.length - 1;
    results.push(await engine.start(def));
    if (!last || opts.complete) results.push(await engine.complete(def.name));
  }
  print(results, results.length ? results.map(describeResult).join("\n") : "nothing pending");
  return EXIT_OK;
}

async function verify({ engine, name, print }: Call): Promise<number> {
  const r = await engine.verify(name);
  print(
    r,
    [
      `${r.migration}: ${r.ok ? "ready" : "NOT ready"}`,
      ...r.checks.map((c) => `  ${c.ok ? "✓" : "✗"} ${c.name}${c.detail ? ` — ${c.detail}` : ""}`),
    ].join("\n"),
  );
  return r.ok ? EXIT_OK : EXIT_FAILED;
}

async function complete({ engine, name, print }: Call): Promise<number> {
  const r = await engine.complete(await activeName(engine, name));
  print(r, describeResult(r));
  return EXIT_OK;
}

async function rollback({ engine, name, print }: Call): Promise<number> {
  const r = await engine.rollback(await activeName(engine, name));
  print(r, describeResult(r));
  return EXIT_OK;
}

async function purge({ engine, opts, print }: Call): Promise<number> {
  const r = await engine.purgeRolledBack({ olderThanMs: parseDuration(opts.olderThan ?? "7d") });
  print(
    r,
    r.purged.length
      ? `purged ${r.purged.map((a) => `${a.table}${a.column ? `.${a.column}` : ""} (was ${a.originalName})`).join(", ")}`
      : "nothing to purge",
  );
  return EXIT_OK;
}

const SUBCOMMANDS: Record<MigrateSubcommand, (call: Call) => Promise<number>> = {
  status,
  start,
  verify,
  complete,
  rollback,
  purge,
};

function engineFor(ctx: CliContext, opts: MigrateOptions): MigrationEngine {
  const url = opts.databaseUrl ?? process.env.DATABASE_URL;
  if (!url) throw new MigrationError("VALIDATION", "no database: pass --database-url or set DATABASE_URL");
  return createMigrationEngine({
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
}

export async function migrate(
  ctx: CliContext,
  subcommand: MigrateSubcommand,
  opts: MigrateOptions,
  name?: string,
): Promise<void> {
  try {
    const engine = engineFor(ctx, opts);
    try {
      ctx.exitCode = await SUBCOMMANDS[subcommand]({
        engine,
        opts,
        name,
        print: (data, text) => ctx.stdout(opts.json ? JSON.stringify(data, null, 2) : text),
      });
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
}
