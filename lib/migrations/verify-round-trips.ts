/**
 * verify's probes of every dual-written column, inside verify's rolled-back
 * transaction.
 *
 * `up` and `down` are compiled exactly as the dual-write trigger compiles
 * them (the same PL/pgSQL block from operations/triggers.ts: the expression
 * in parentheses, the columns it names bound as variables), into temporary
 * functions that take a row of the table and return it with the target
 * column computed. They run on a sample of real rows, which are read, never
 * written: no probe can collide with another row's unique value or fire
 * another trigger. For each sampled row:
 *
 *   old → new        up(row) must not fail
 *   new → old        down(row) must not fail, nor give NULL to a NOT NULL
 *                    column of the old version
 *   old → new → old  down(up(row)) = row's old value
 *   new → old → new  up(down(row)) = row's new value
 *
 * and once per column, the NULLs the other version may write: down of a
 * NULL new value when the old column is NOT NULL, up of a NULL old value
 * when the new column will be NOT NULL. A round trip that does not hold
 * fails verify only for a change declared `lossless: true`; otherwise it is
 * reported (an `up` that repairs data is not meant to round-trip).
 */
import { createHash } from "node:crypto";
import type { PoolClient } from "pg";
import { columnTypes, constraintExists, type KeyColumn, keyColumns } from "./catalog";
import { assignBlock, plpgsqlSource } from "./operations/triggers";
import { ident, literal, qualified } from "./sql";
import { dollarTag } from "./sql-fragment";
import type { DualWrite, ExprBinding } from "./types";

export interface ProbeOutcome {
  probes: number;
  failures: string[];
  /** Facts worth knowing that do not fail verify (round trips of changes not declared lossless). */
  reports: string[];
}

/** Rows probed per dual-written column: the first and last by key, and one with each column NULL. */
const FIRST = 3;
const LAST = 2;

export async function probeDualWrites(
  c: PoolClient,
  schema: string,
  writes: DualWrite[],
): Promise<ProbeOutcome> {
  const out: ProbeOutcome = { probes: 0, failures: [], reports: [] };
  for (const [k, dw] of writes.entries()) await probeColumn(c, schema, dw, k, out);
  return out;
}

/** One probe inside its own savepoint: its result, or the error's message. */
async function attempt<T>(c: PoolClient, fn: () => Promise<T>): Promise<{ value?: T; error?: string }> {
  await c.query("SAVEPOINT probe");
  try {
    const value = await fn();
    await c.query("RELEASE SAVEPOINT probe");
    return { value };
  } catch (err) {
    await c.query("ROLLBACK TO SAVEPOINT probe");
    return { error: (err as Error).message };
  }
}

/** A temporary function computing `target` of a row as the trigger would. */
async function compile(
  c: PoolClient,
  schema: string,
  dw: DualWrite,
  name: string,
  target: string,
  binding: ExprBinding,
) {
  const rowType = qualified(schema, dw.table);
  const types = await columnTypes(c, schema, dw.table);
  const fn = `pg_temp.${ident(name)}`;
  const source = plpgsqlSource(assignBlock(target, binding, types), `NEW ${rowType} := _ss_row;`);
  // A tag the source (migration-file expressions) provably does not contain (see triggers.ts).
  const tag = dollarTag(source, (s) => createHash("sha256").update(s).digest("hex"));
  await c.query(
    `CREATE FUNCTION ${fn}(_ss_row ${rowType}) RETURNS ${rowType} LANGUAGE plpgsql AS ${tag}${source}${tag}`,
  );
  return fn;
}

async function sampleKeys(
  c: PoolClient,
  schema: string,
  dw: DualWrite,
  key: KeyColumn[],
): Promise<string[][]> {
  const tbl = qualified(schema, dw.table);
  const cols = key.map((k, j) => `${ident(k.name)}::text AS k${j}`).join(", ");
  const order = key.map((k) => ident(k.name)).join(", ");
  const queries = [
    `SELECT ${cols} FROM ${tbl} ORDER BY ${order} LIMIT ${FIRST}`,
    `SELECT ${cols} FROM ${tbl} ORDER BY ${key.map((k) => `${ident(k.name)} DESC`).join(", ")} LIMIT ${LAST}`,
    ...[dw.old, dw.new].flatMap((col) =>
      col
        ? [`SELECT ${cols} FROM ${tbl} WHERE ${ident(col.physical)} IS NULL ORDER BY ${order} LIMIT 1`]
        : [],
    ),
  ];
  const seen = new Map<string, string[]>();
  for (const q of queries) {
    for (const r of (await c.query(q)).rows) {
      const vals = key.map((_, j) => r[`k${j}`] as string);
      seen.set(JSON.stringify(vals), vals);
    }
  }
  return [...seen.values()];
}

async function notNull(c: PoolClient, schema: string, table: string, column: string): Promise<boolean> {
  const r = await c.query<{ nn: boolean }>(
    "SELECT attnotnull AS nn FROM pg_attribute WHERE attrelid = $1::regclass AND attname = $2",
    [qualified(schema, table), column],
  );
  return Boolean(r.rows[0]?.nn);
}

interface Probe {
  c: PoolClient;
  dw: DualWrite;
  tbl: string;
  where: string;
  up?: string;
  down?: string;
  /** The old version's column refuses NULL. */
  oldNotNull: boolean;
  /** The new version's column refuses NULL (or will, on complete). */
  newNotNull: boolean;
  out: ProbeOutcome;
}

interface Mismatches {
  oldNewOld: number;
  newOldNew: number;
}

async function probeColumn(c: PoolClient, schema: string, dw: DualWrite, k: number, out: ProbeOutcome) {
  const key = await keyColumns(c, schema, dw.table);
  if (!key.length) {
    out.reports.push(`${dw.label}: not probed (no primary key to sample rows by)`);
    return;
  }
  const p: Probe = {
    c,
    dw,
    out,
    tbl: qualified(schema, dw.table),
    where: key.map((x, j) => `t.${ident(x.name)}::text = $${j + 1}`).join(" AND "),
    up: dw.up && dw.new ? await compile(c, schema, dw, `_ss_up_${k}`, dw.new.physical, dw.up) : undefined,
    down:
      dw.down && dw.old ? await compile(c, schema, dw, `_ss_down_${k}`, dw.old.physical, dw.down) : undefined,
    oldNotNull: dw.old ? await notNull(c, schema, dw.table, dw.old.physical) : false,
    newNotNull: dw.new
      ? (await notNull(c, schema, dw.table, dw.new.physical)) ||
        (dw.newNotNullCheck !== undefined &&
          (await constraintExists(c, schema, dw.table, dw.newNotNullCheck)))
      : false,
  };
  const rows = await sampleKeys(c, schema, dw, key);
  const mismatches: Mismatches = { oldNewOld: 0, newOldNew: 0 };
  for (const row of rows) await probeRow(p, row, mismatches);
  if (rows[0]) await probeNulls(p, rows[0]);
  roundTrips(p, rows.length, mismatches);
}

/** The value of `expr` (over the sampled row `t`), or a failure recorded under `direction`. */
async function evaluate<T>(p: Probe, row: string[], expr: string, direction: string, what: string) {
  p.out.probes++;
  const r = await attempt(p.c, async () => {
    const q = await p.c.query(`SELECT ${expr} AS v FROM ${p.tbl} t WHERE ${p.where}`, row);
    return q.rows[0]?.v as T;
  });
  if (r.error) {
    p.out.failures.push(
      `${p.dw.label} (${direction}): ${what} fails on the row with key (${row.join(", ")}): ${r.error}`,
    );
  }
  return r.value;
}

async function probeRow(p: Probe, row: string[], mismatches: Mismatches) {
  const { dw, up, down } = p;
  const o = dw.old ? ident(dw.old.physical) : "";
  const n = dw.new ? ident(dw.new.physical) : "";
  if (up) await evaluate(p, row, `(${up}(t)).${n}`, "old → new", "up");
  if (down) {
    const isNull = await evaluate<boolean>(p, row, `(${down}(t)).${o} IS NULL`, "new → old", "down");
    if (isNull && p.oldNotNull) {
      p.out.failures.push(
        `${dw.label} (new → old): down gives NULL on the row with key (${row.join(", ")}), but the old version's column is NOT NULL`,
      );
    }
  }
  if (!up || !down) return;
  const trips = [
    {
      key: "oldNewOld",
      direction: "old → new → old",
      what: "down(up(…))",
      expr: `(${down}(${up}(t))).${o} IS NOT DISTINCT FROM t.${o}`,
    },
    {
      key: "newOldNew",
      direction: "new → old → new",
      what: "up(down(…))",
      expr: `(${up}(${down}(t))).${n} IS NOT DISTINCT FROM t.${n}`,
    },
  ] as const;
  for (const trip of trips) {
    if ((await evaluate<boolean>(p, row, trip.expr, trip.direction, trip.what)) === false)
      mismatches[trip.key]++;
  }
}

/** The NULLs one version may write and the other's NOT NULL column must not receive. */
async function probeNulls(p: Probe, row: string[]) {
  const { dw, up, down } = p;
  const nulled = (column: string) => `jsonb_populate_record(t, jsonb_build_object(${literal(column)}, NULL))`;
  if (down && dw.old && dw.new && p.oldNotNull && !p.newNotNull) {
    const expr = `(${down}(${nulled(dw.new.physical)})).${ident(dw.old.physical)} IS NULL`;
    if (await evaluate<boolean>(p, row, expr, "new → old", `down of a NULL ${dw.new.name}`)) {
      p.out.failures.push(
        `${dw.label} (new → old): down gives NULL for a NULL ${dw.new.name}, but the old version's column is NOT NULL`,
      );
    }
  }
  if (up && dw.old && dw.new && p.newNotNull && !p.oldNotNull) {
    const expr = `(${up}(${nulled(dw.old.physical)})).${ident(dw.new.physical)} IS NULL`;
    if (await evaluate<boolean>(p, row, expr, "old → new", `up of a NULL ${dw.old.name}`)) {
      p.out.failures.push(
        `${dw.label} (old → new): up gives NULL for a NULL ${dw.old.name}, but the new column is NOT NULL`,
      );
    }
  }
}

/** Round trips that did not hold: a failure for a change declared lossless, a report otherwise. */
function roundTrips(p: Probe, sampled: number, m: Mismatches) {
  const { dw } = p;
  const found: Array<{ direction: string; fact: string }> = [];
  if (dw.old && m.oldNewOld) {
    found.push({
      direction: "old → new → old",
      fact: `down(up(${dw.old.name})) ≠ ${dw.old.name} on ${m.oldNewOld}`,
    });
  }
  if (dw.new && m.newOldNew) {
    found.push({
      direction: "new → old → new",
      fact: `up(down(${dw.new.name})) ≠ ${dw.new.name} on ${m.newOldNew}`,
    });
  }
  for (const { direction, fact } of found) {
    if (dw.lossless)
      p.out.failures.push(
        `${dw.label} (${direction}): declared lossless, but ${fact} of ${sampled} sampled rows`,
      );
    else
      p.out.reports.push(
        `${dw.label} (${direction}): ${fact} of ${sampled} sampled rows (not declared lossless: reported only)`,
      );
  }
}
