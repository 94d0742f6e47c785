/**
 * Dual-write triggers.
 *
 * pgroll and Reshape decide which version wrote a row by comparing the
 * session's search_path with the version schema name, which breaks with
 * `search_path = v2, public`, with fully qualified names, and behind PgBouncer
 * transaction pooling. Here the trigger decides from the row itself:
 *
 *   INSERT: shadow column NULL  -> the old version wrote: shadow := up(row)
 *           shadow column given -> the new version wrote: old    := down(row)
 *   UPDATE: only the old column changed    -> shadow := up(row)
 *           only the shadow column changed -> old    := down(row)
 *           shadow still NULL and the backfill flag is set -> shadow := up(row)
 *
 * `up` is evaluated with the OLD version's column names bound to the row's
 * values, `down` with the NEW version's names, each as PL/pgSQL variables
 * (only for the names the expression mentions, so a trigger never reads a
 * column some other operation drops).
 */
import { createHash } from "node:crypto";
import type { PoolClient } from "pg";
import { columnTypes } from "../catalog";
import { ident, mentionedIdentifiers, qualified } from "../sql";
import { dollarTag } from "../sql-fragment";
import { STATE_SCHEMA } from "../state";
import type { ExprBinding } from "../types";

export type { ExprBinding };

/** `BEGIN NEW.target := (expr); END` with the mentioned columns declared as variables. */
export function assignBlock(target: string, binding: ExprBinding, types: Map<string, string>): string {
  const mentioned = mentionedIdentifiers(binding.expression);
  const decls = binding.columns
    .filter((c) => mentioned.has(c.name) && types.has(c.physical))
    .map((c) => `${ident(c.name)} ${types.get(c.physical)} := NEW.${ident(c.physical)};`);
  const declare = decls.length ? `DECLARE ${decls.join(" ")} ` : "";
  return `${declare}BEGIN NEW.${ident(target)} := (${binding.expression}); END;`;
}

export const BACKFILLING = "current_setting('shipshape.backfill', true) = 'on'";

/**
 * The PL/pgSQL source around a body that assigns to `NEW`: the same for a
 * trigger and for verify's probes, so a probe compiles an expression exactly
 * as the trigger does (name resolution included: a column of a subquery wins
 * over a variable of the same name).
 */
export function plpgsqlSource(body: string, declare?: string): string {
  return `
#variable_conflict use_column
${declare ? `DECLARE ${declare}\n` : ""}BEGIN
${body}
RETURN NEW;
END
`;
}

export async function installTrigger(
  c: PoolClient,
  args: { schema: string; table: string; name: string; body: string; events?: "INSERT" | "INSERT OR UPDATE" },
): Promise<void> {
  const fn = qualified(STATE_SCHEMA, args.name);
  const source = plpgsqlSource(args.body);
  // The body holds migration-file expressions (and names): a fixed tag such as $ss$ inside one
  // of them would end the function early, so the tag is one the body provably does not contain.
  const tag = dollarTag(source, (s) => createHash("sha256").update(s).digest("hex"));
  await c.query(
    `CREATE OR REPLACE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS ${tag}${source}${tag}`,
  );
  await c.query(`DROP TRIGGER IF EXISTS ${ident(args.name)} ON ${qualified(args.schema, args.table)}`);
  await c.query(
    `CREATE TRIGGER ${ident(args.name)} BEFORE ${args.events ?? "INSERT OR UPDATE"} ON ${qualified(args.schema, args.table)} FOR EACH ROW EXECUTE FUNCTION ${fn}()`,
  );
}

export async function dropTrigger(c: PoolClient, schema: string, table: string, name: string): Promise<void> {
  const exists = await c.query(
    `SELECT 1 FROM pg_class cl JOIN pg_namespace n ON n.oid = cl.relnamespace WHERE n.nspname = $1 AND cl.relname = $2`,
    [schema, table],
  );
  if (exists.rowCount) await c.query(`DROP TRIGGER IF EXISTS ${ident(name)} ON ${qualified(schema, table)}`);
  await c.query(`DROP FUNCTION IF EXISTS ${qualified(STATE_SCHEMA, name)}()`);
}

/** Body of the two-column trigger (old column `o`, shadow `s`). */
export async function pairTriggerBody(
  c: PoolClient,
  args: {
    schema: string;
    table: string;
    oldColumn: string;
    shadow: string;
    up: ExprBinding;
    down: ExprBinding;
    /** Old column is NOT NULL: an insert that leaves both NULL came from the new version. */
    oldNotNull: boolean;
  },
): Promise<string> {
  const types = await columnTypes(c, args.schema, args.table);
  const o = `NEW.${ident(args.oldColumn)}`;
  const s = `NEW.${ident(args.shadow)}`;
  const up = assignBlock(args.shadow, args.up, types);
  const down = assignBlock(args.oldColumn, args.down, types);
  const insertNullShadow = args.oldNotNull ? `IF ${o} IS NULL THEN ${down} ELSE ${up} END IF;` : up;
  return `IF TG_OP = 'INSERT' THEN
  IF ${s} IS NULL THEN ${insertNullShadow} ELSE ${down} END IF;
ELSIF ${o} IS DISTINCT FROM OLD.${ident(args.oldColumn)} AND ${s} IS NOT DISTINCT FROM OLD.${ident(args.shadow)} THEN
  ${up}
ELSIF ${s} IS DISTINCT FROM OLD.${ident(args.shadow)} AND ${o} IS NOT DISTINCT FROM OLD.${ident(args.oldColumn)} THEN
  ${down}
ELSIF ${s} IS NULL AND ${BACKFILLING} THEN
  ${up}
END IF;`;
}
