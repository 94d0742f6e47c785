/**
 * MigrationDriver on the parallel-schema engine (lib/migrations), following
 * its README: expand = start the release's pending migrations — one alone,
 * several together as one attempt (`startTogether`), so that nothing is
 * completed and blue's version schema stays while blue can get traffic;
 * contract = complete(last), which completes every migration of that
 * attempt in order; compensation = rollback of what this deployment started
 * (all of the attempt's migrations, newest operation first). Every engine
 * command is idempotent (a rerun after a crash finishes or no-ops), so these
 * are too.
 *
 * The release's migrations come with the deployment (MigrationBundle: the
 * files the CLI read, checked against their digests here), and the
 * database is the release config's `database.url`, resolved on this worker.
 * There is one engine per (service, environment, database): its state and
 * version schemas are that scope's, so services (or environments) sharing a
 * database never see each other's migrations. Every start records the
 * deployment as the attempt's owner, and a rollback only undoes attempts
 * its own deployment owns.
 *
 * Engine errors that retrying cannot fix (VALIDATION, ANOTHER_ACTIVE,
 * INVALID_PHASE, DEFINITION_CHANGED, NOT_OWNER, FAILED) become
 * non-retryable ApplicationFailures of type MigrationFailed; BUSY /
 * LOCK_TIMEOUT / CONNECTION_LOST stay retryable.
 */
import { createHash } from "node:crypto";
import { ApplicationFailure } from "@temporalio/activity";
import { resolveEnvRefs } from "../lib/config/env-refs";
import { FAILURE_TYPES, type MigrationBundle } from "../lib/deployment/types";
import type { Progress, VersionEnvironmentRef } from "../lib/drivers/common";
import type { DatabaseRef, MigrationDriver } from "../lib/drivers/migration-driver";
import { createMigrationEngine, type EngineOptions, type MigrationEngine } from "../lib/migrations/engine";
import {
  type MigrationDefinition,
  MigrationFileError,
  parseMigrationText,
} from "../lib/migrations/file-format";
import { planMigrations } from "../lib/migrations/plan";
import { MigrationError } from "../lib/migrations/types";

export const MIGRATION_FAILED = "MigrationFailed";

export interface EngineMigrationDriverOptions {
  /** The worker's environment: `${env:…}` in `database.url` resolves against it. */
  env: Readonly<Record<string, string | undefined>>;
  /** Engine settings other than the scope and the URL (lock timeouts, backfill batches, log). */
  engine?: Omit<EngineOptions, "connectionString" | "service" | "environment">;
}

export interface EngineMigrationDriver extends MigrationDriver {
  /** Closes every engine's pool (worker shutdown). */
  close(): Promise<void>;
}

async function mapped<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof MigrationError && !err.retryable) {
      throw ApplicationFailure.create({
        message: `${err.code}: ${err.message}`,
        type: MIGRATION_FAILED,
        nonRetryable: true,
        cause: err,
      });
    }
    if (err instanceof MigrationFileError) {
      throw ApplicationFailure.create({ message: err.message, type: MIGRATION_FAILED, nonRetryable: true });
    }
    throw err;
  }
}

/** The release's migrations, in file order; a file whose text does not match its digest is refused. */
export function definitionsOf(bundle: MigrationBundle): MigrationDefinition[] {
  const names = new Map<string, string>();
  return bundle.files.map((f) => {
    const digest = createHash("sha256").update(f.content).digest("hex");
    if (digest !== f.sha256) {
      throw ApplicationFailure.nonRetryable(
        `migration ${f.file} does not match its digest (${digest} ≠ ${f.sha256}): the deployment input was altered`,
        FAILURE_TYPES.invalidInput,
      );
    }
    const def = parseMigrationText(f.content, f.file);
    const dup = names.get(def.name);
    if (dup) {
      throw ApplicationFailure.nonRetryable(
        `migration name '${def.name}' is used by ${dup} and ${f.file}`,
        FAILURE_TYPES.invalidInput,
      );
    }
    names.set(def.name, f.file);
    return def;
  });
}

export function engineMigrationDriver(options: EngineMigrationDriverOptions): EngineMigrationDriver {
  const engines = new Map<string, MigrationEngine>();

  /** The engine of (service, environment, database), created on first use. */
  const engineFor = (ref: VersionEnvironmentRef, database: DatabaseRef): MigrationEngine => {
    const resolved = resolveEnvRefs({ url: database.url }, options.env);
    if (!resolved.ok) {
      throw ApplicationFailure.nonRetryable(
        `database.url: ${resolved.problems.map((p) => p.message).join("; ")}`,
        FAILURE_TYPES.invalidConfig,
      );
    }
    const url = resolved.config.url;
    const key = JSON.stringify([ref.service, ref.environment, url]);
    let engine = engines.get(key);
    if (!engine) {
      engine = createMigrationEngine({
        ...options.engine,
        connectionString: url,
        service: ref.service,
        environment: ref.environment,
      });
      engines.set(key, engine);
    }
    return engine;
  };

  return {
    expand: (ref, database, bundle, progress: Progress) =>
      mapped(async () => {
        const engine = engineFor(ref, database);
        const plan = planMigrations(definitionsOf(bundle), await engine.status());
        if (plan.pending.length === 0) return { migration: null, versionSchema: null };
        const names = plan.pending.map((d) => d.name);
        progress(
          names.length === 1
            ? `starting ${names[0]} (1/1)`
            : `starting ${names.join(", ")} together (one attempt)`,
        );
        // Nothing is completed here: completing drops blue's version schema and runs the drops, which
        // only finalize may do, once blue gets no traffic.
        const { versionSchema } = await engine.startTogether(plan.pending, { owner: ref.deploymentId });
        return { migration: names.at(-1)!, versionSchema };
      }),
    contract: (ref, database, migration, progress) =>
      mapped(async () => {
        // Completes every migration started together with `migration` (the release's last), oldest first.
        progress(`completing ${migration}`);
        const r = await engineFor(ref, database).complete(migration);
        return { alreadyDone: r.alreadyDone };
      }),
    rollback: (ref, database, migration, progress) =>
      mapped(async () => {
        const engine = engineFor(ref, database);
        const { migrations } = await engine.status();
        const ours = (m: { owner: string | null }) => m.owner === ref.deploymentId;
        // null: expand never returned; whatever unfinished attempt this deployment started.
        const name =
          migration ??
          migrations.filter((m) => ours(m) && m.phase !== "completed" && m.phase !== "rolled_back").at(-1)
            ?.name ??
          null;
        if (!name) return { alreadyDone: true };
        const latest = migrations.filter((m) => m.name === name).at(-1);
        if (!latest || latest.phase === "completed" || latest.phase === "rolled_back") {
          return { alreadyDone: true };
        }
        if (!ours(latest)) {
          // Never another deployment's (or a stale one's): that is for its owner, or a person.
          progress(`not rolling back ${name}: it was started by ${latest.owner ?? "the CLI"}`);
          return { alreadyDone: true };
        }
        progress(`rolling back ${name}`);
        const r = await engine.rollback(name, { owner: ref.deploymentId });
        return { alreadyDone: r.alreadyDone };
      }),
    async close() {
      for (const e of engines.values()) await e.close();
      engines.clear();
    },
  };
}
