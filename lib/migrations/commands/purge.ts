/**
 * Purge: drops data that rollbacks put aside, once it is older than the
 * retention period the caller chooses. The only command that deletes what a
 * version wrote, so it never runs implicitly.
 */
import type { PoolClient } from "pg";
import { inTransaction } from "../ddl";
import { ident, qualified } from "../sql";
import * as state from "../state";
import { type EngineContext, withCommandLock } from "./context";

export async function purgeRolledBack(
  engine: EngineContext,
  olderThanMs: number,
): Promise<{ purged: state.AsideRow[] }> {
  return withCommandLock(engine, async () => {
    const due = (await state.listAside(engine.pool, engine.scope)).filter(
      (a) => !a.purgedAt && a.renamedAt.getTime() <= Date.now() - olderThanMs,
    );
    for (const a of due) {
      const what = `${a.table}${a.column ? `.${a.column}` : ""}`;
      await inTransaction(engine.pool, engine.policy, `purge ${what}`, (c) => dropAside(c, a));
      engine.log(`purged ${a.kind} ${what} (was ${a.originalName})`);
    }
    return { purged: due };
  });
}

/** Drops one put-aside table or column and marks it purged in the same transaction. */
async function dropAside(c: PoolClient, a: state.AsideRow): Promise<void> {
  if (a.kind === "table") await c.query(`DROP TABLE IF EXISTS ${qualified(a.schema, a.table)} CASCADE`);
  else {
    // Nothing to drop when the column's table no longer exists.
    const exists = await c.query("SELECT to_regclass($1) IS NOT NULL AS ok", [qualified(a.schema, a.table)]);
    if (exists.rows[0]?.ok) {
      await c.query(
        `ALTER TABLE ${qualified(a.schema, a.table)} DROP COLUMN IF EXISTS ${ident(a.column ?? "")}`,
      );
    }
  }
  await c.query(`UPDATE ${state.STATE_SCHEMA}.aside SET purged_at = now() WHERE id = $1`, [a.id]);
}
