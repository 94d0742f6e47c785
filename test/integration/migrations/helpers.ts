/** Shared helpers of the migration engine's integration tests (real PostgreSQL). */
import { Client } from "pg";
import {
  type CommandResult,
  createMigrationEngine,
  type EngineOptions,
  type MigrationEngine,
} from "../../../lib/migrations/engine";
import type { MigrationDefinition } from "../../../lib/migrations/file-format";
import { findLeftovers } from "../../../lib/migrations/leftovers";
import { versionSchemaName } from "../../../lib/migrations/versioned-schema";
import { freshDatabase } from "../../support/postgres";

export const SERVICE = "shop";

export async function withDb<T>(prefix: string, fn: (url: string) => Promise<T>): Promise<T> {
  const db = await freshDatabase(prefix);
  try {
    return await fn(db.url);
  } finally {
    await db.drop();
  }
}

export function engineFor(url: string, extra: Partial<EngineOptions> = {}): MigrationEngine {
  return createMigrationEngine({
    connectionString: url,
    service: SERVICE,
    lockTimeoutMs: 500,
    ddlRetries: 5,
    retryBaseDelayMs: 20,
    backfill: { batchSize: 2, delayMs: 0 },
    ...extra,
  });
}

/** A client of one version: its search_path is the version schema (or `public`). */
/**
 * A client that sees `schema` (a version schema). PostgreSQL silently skips a
 * search_path entry that does not exist, and the client would then read the
 * base tables instead: a missing schema fails here instead.
 */
export async function versionClient(url: string, schema: string): Promise<Client> {
  const c = new Client({ connectionString: url, options: `-c search_path=${schema}` });
  await c.connect();
  const found = await c.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [schema]);
  if (found.rowCount === 0) {
    await c.end();
    throw new Error(`version schema ${schema} does not exist`);
  }
  return c;
}

export async function admin(url: string): Promise<Client> {
  const c = new Client({ connectionString: url });
  await c.connect();
  return c;
}

export async function withClient<T>(url: string, schema: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const c = await versionClient(url, schema);
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** The version schema of a migration of the test service (no environment). */
export const schemaOf = (migration: string) =>
  versionSchemaName({ service: SERVICE, environment: "", migration });

/** Starts and completes each migration in turn with an engine of its own: the history a test starts from. */
export async function applied(url: string, ...migrations: MigrationDefinition[]): Promise<void> {
  const e = engineFor(url);
  try {
    for (const m of migrations) {
      await e.start(m);
      await e.complete(m.name);
    }
  } finally {
    await e.close();
  }
}

/** Every `_ss_` object the engine left in `public`, and whether each is recorded as put-aside data. */
export const leftovers = (url: string) => findLeftovers(url, SERVICE);

/**
 * Everything a migration can change, in a stable textual form: tables,
 * columns with types/nullability/defaults, constraints, indexes, triggers,
 * views of version schemas, the data of application tables, the phase of
 * every migration and the aside records. Two runs converge iff equal.
 * `aside: false` leaves out put-aside objects (`_ss_…`) entirely: after a
 * crash mid-start, a rollback puts aside only what start had created.
 */
export async function fingerprint(url: string, opts: { aside?: boolean } = {}): Promise<string> {
  const c = await admin(url);
  const noAside = opts.aside === false;
  const skip = (col: string) => (noAside ? `AND ${col} NOT LIKE '\\_ss\\_%'` : "");
  try {
    const parts: string[] = [];
    const q = async (sql: string) => {
      const r = await c.query(sql);
      parts.push(JSON.stringify(r.rows));
    };
    await q(`SELECT table_schema, table_name, column_name, data_type, is_nullable, column_default
               FROM information_schema.columns WHERE table_schema NOT IN ('pg_catalog', 'information_schema', 'shipshape_migrations')
               ${skip("table_name")} ${skip("column_name")}
              ORDER BY 1, 2, column_name`);
    await q(`SELECT cl.relname, co.conname, co.contype, co.convalidated, pg_get_constraintdef(co.oid) AS def
               FROM pg_constraint co JOIN pg_class cl ON cl.oid = co.conrelid JOIN pg_namespace n ON n.oid = cl.relnamespace
              WHERE n.nspname = 'public' ${skip("cl.relname")} ORDER BY 1, 2`);
    await q(
      `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ${skip("tablename")} ORDER BY 1`,
    );
    await q(`SELECT i.indexrelid::regclass::text, i.indisvalid FROM pg_index i JOIN pg_class cl ON cl.oid = i.indexrelid
               JOIN pg_class t ON t.oid = i.indrelid
               JOIN pg_namespace n ON n.oid = cl.relnamespace WHERE n.nspname = 'public' ${skip("t.relname")} ORDER BY 1`);
    await q(`SELECT tgname FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1`);
    await q(
      `SELECT proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'shipshape_migrations' ORDER BY 1`,
    );
    await q(
      `SELECT schemaname, viewname, definition FROM pg_views WHERE schemaname LIKE '${SERVICE}\\_%' ORDER BY 1, 2`,
    );
    await q(`SELECT name, attempt, phase, version_schema FROM shipshape_migrations.migrations ORDER BY id`);
    if (!noAside)
      await q(
        `SELECT kind, table_name, column_name, original_name FROM shipshape_migrations.aside ORDER BY id`,
      );
    const tables = await c.query<{ t: string; raw: string }>(
      `SELECT quote_ident(tablename) AS t, tablename AS raw FROM pg_tables WHERE schemaname = 'public' ${skip("tablename")} ORDER BY 1`,
    );
    for (const { t } of tables.rows) {
      const cols = await c.query<{ c: string }>(
        `SELECT quote_ident(attname) AS c FROM pg_attribute WHERE attrelid = ('public.' || $1)::regclass
            AND attnum > 0 AND NOT attisdropped ${skip("attname")} ORDER BY attnum`,
        [t],
      );
      const list = cols.rows.map((x) => `x.${x.c}`).join(", ") || "1";
      const r = await c.query(
        `SELECT md5(coalesce(string_agg(ROW(${list})::text, '|' ORDER BY ROW(${list})::text), '')) AS h FROM public.${t} x`,
      );
      parts.push(`${t}:${r.rows[0]?.h}`);
    }
    return parts.join("\n");
  } finally {
    await c.end();
  }
}

/** Thrown by the crash hook: the engine stops right there, as a crashed process would. */
export class SimulatedCrash extends Error {}

/** Runs `fn` with an engine of its own, closed afterwards. */
export async function run<T>(url: string, fn: (e: MigrationEngine) => Promise<T>): Promise<T> {
  const e = engineFor(url);
  try {
    return await fn(e);
  } finally {
    await e.close();
  }
}

/** Runs `fn` with an engine that crashes right after `crashAt`; returns whether it crashed. */
export async function crashing(url: string, crashAt: string, fn: (e: MigrationEngine) => Promise<unknown>) {
  const e = engineFor(url, {
    hooks: {
      afterStep(step) {
        if (step === crashAt) throw new SimulatedCrash(step);
      },
    },
  });
  try {
    await fn(e);
    return false;
  } catch (err) {
    if (err instanceof SimulatedCrash || (err as Error).cause instanceof SimulatedCrash) return true;
    throw err;
  } finally {
    await e.close();
  }
}

export type { CommandResult, MigrationDefinition };
