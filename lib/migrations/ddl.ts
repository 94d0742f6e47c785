/**
 * DDL that never queues production traffic behind it.
 *
 * PostgreSQL grants locks in arrival order: an `ALTER TABLE` waiting for an
 * ACCESS EXCLUSIVE lock behind one long transaction blocks every later
 * `SELECT` on that table until it gets the lock. So every migration statement
 * runs with a short `lock_timeout`; when it expires the statement gives up,
 * the queue behind it drains, and we retry after an exponential delay with
 * full jitter (so several engines or retries do not stampede in step).
 */
import type { Pool, PoolClient, QueryConfig } from "pg";
import { MigrationError } from "./types";

export interface DdlPolicy {
  /** lock_timeout for every migration statement. */
  lockTimeoutMs: number;
  /** Attempts after the first one. */
  retries: number;
  baseDelayMs: number;
  maxDelayMs: number;
  log?: (message: string) => void;
}

export const DEFAULT_DDL_POLICY: DdlPolicy = {
  lockTimeoutMs: 2_000,
  retries: 12,
  baseDelayMs: 100,
  maxDelayMs: 5_000,
};

/** lock_not_available (lock_timeout) and deadlock_detected are worth retrying. */
export function isLockConflict(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return code === "55P03" || code === "40P01";
}

export function jitterDelay(policy: DdlPolicy, attempt: number): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  return Math.round(Math.random() * cap);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function withRetries<T>(policy: DdlPolicy, label: string, attemptOnce: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await attemptOnce();
    } catch (err) {
      if (!isLockConflict(err)) throw err;
      if (attempt >= policy.retries) {
        throw new MigrationError(
          "LOCK_TIMEOUT",
          `${label}: could not take its lock within ${policy.lockTimeoutMs} ms after ${attempt + 1} attempts ` +
            "(a long transaction holds a conflicting lock); production traffic was never queued behind it",
          { cause: err },
        );
      }
      const delay = jitterDelay(policy, attempt);
      policy.log?.(`${label}: lock not available (attempt ${attempt + 1}), retrying in ${delay} ms`);
      await sleep(delay);
    }
  }
}

/** Runs `fn` in one transaction with `lock_timeout`, retrying the whole transaction on lock conflicts. */
export async function inTransaction<T>(
  pool: Pool,
  policy: DdlPolicy,
  label: string,
  fn: (c: PoolClient) => Promise<T>,
): Promise<T> {
  return withRetries(policy, label, async () => {
    const c = await pool.connect();
    let broken = false;
    try {
      await c.query("BEGIN");
      await c.query(`SET LOCAL lock_timeout = ${Math.max(1, Math.floor(policy.lockTimeoutMs))}`);
      const out = await fn(c);
      await c.query("COMMIT");
      return out;
    } catch (err) {
      try {
        await c.query("ROLLBACK");
      } catch {
        broken = true;
      }
      throw err;
    } finally {
      c.release(broken);
    }
  });
}

/**
 * For statements that refuse transaction blocks (… CONCURRENTLY). The session
 * gets the lock_timeout and loses it again before going back to the pool.
 * `fn` runs again on retry, so it must clean up its own half-done work
 * (e.g. drop the INVALID index a failed CREATE INDEX CONCURRENTLY leaves).
 */
export async function outsideTransaction<T>(
  pool: Pool,
  policy: DdlPolicy,
  label: string,
  fn: (c: PoolClient) => Promise<T>,
): Promise<T> {
  return withRetries(policy, label, async () => {
    const c = await pool.connect();
    let broken = false;
    try {
      await c.query(`SET lock_timeout = ${Math.max(1, Math.floor(policy.lockTimeoutMs))}`);
      return await fn(c);
    } catch (err) {
      broken = !(err as { code?: string }).code;
      throw err;
    } finally {
      try {
        if (!broken) await c.query("RESET lock_timeout");
      } catch {
        broken = true;
      }
      c.release(broken);
    }
  });
}

/**
 * Runs `fn` on one connection inside a transaction that is always rolled
 * back: for questions only PostgreSQL can answer by trying (see
 * operations/default-rewrite.ts), asked outside any step.
 */
export async function rolledBack<T>(pool: Pool, fn: (c: PoolClient) => Promise<T>): Promise<T> {
  const c = await pool.connect();
  let broken = false;
  try {
    await c.query("BEGIN");
    return await fn(c);
  } finally {
    await c.query("ROLLBACK").catch(() => {
      broken = true;
    });
    c.release(broken);
  }
}

/**
 * The client a step's function gets: every query goes through PostgreSQL's
 * extended protocol, which refuses text holding more than one statement
 * ("cannot insert multiple commands into a prepared statement"). Validation
 * refuses such fragments already; this makes it true of everything a step
 * sends, whatever a future operation splices together.
 */
export function oneStatementClient(c: PoolClient): PoolClient {
  const query = (text: unknown, ...rest: unknown[]) => {
    if (typeof text === "string" && (rest.length === 0 || Array.isArray(rest[0]))) {
      const config = { text, values: rest[0] as unknown[] | undefined, queryMode: "extended" };
      return c.query(config as QueryConfig);
    }
    // biome-ignore lint/suspicious/noExplicitAny: passes any other query form through unchanged
    return (c.query as (...a: any[]) => unknown)(text, ...rest);
  };
  return new Proxy(c, {
    get(target, prop) {
      if (prop === "query") return query;
      const v = Reflect.get(target, prop, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}
