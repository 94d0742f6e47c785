/**
 * verify's write probes, inside verify's rolled-back transaction: for every
 * table both versions see, one row is written through each version's view
 * with the values it already holds (`SET key = key`). That proves each view
 * is updatable and reaches the same row, and runs every trigger on the table
 * (dual-write triggers included), while no value can collide with another
 * row's.
 */
import type { PoolClient } from "pg";
import { keyColumns } from "./catalog";
import { ident, qualified } from "./sql";
import type { SchemaModel, TableModel } from "./types";

export interface WriteProbeArgs {
  schema: string;
  oldSchema: string;
  newSchema: string;
  oldModel: SchemaModel;
  newModel: SchemaModel;
  /** Views the new version's schema has (a table raw SQL left out of it is not probed). */
  newViews: string[];
}

export async function probeWritesThroughViews(
  c: PoolClient,
  args: WriteProbeArgs,
): Promise<{ probes: number; failures: string[] }> {
  let probes = 0;
  const failures: string[] = [];
  for (const t of args.newModel.tables) {
    const oldT = args.oldModel.tables.find((x) => x.physical === t.physical);
    if (!oldT || !args.newViews.includes(t.name)) continue;
    const err = await writeBoth(c, args, oldT, t);
    if (err === undefined) continue;
    probes++;
    if (err) failures.push(`${t.name}: ${err}`);
  }
  return { probes, failures };
}

/** undefined: nothing to probe (no key, no row); "" success; otherwise what went wrong. */
async function writeBoth(
  c: PoolClient,
  args: WriteProbeArgs,
  oldT: TableModel,
  newT: TableModel,
): Promise<string | undefined> {
  const key = await keyColumns(c, args.schema, newT.physical);
  if (!key.length) return undefined;
  const sample = await c.query(
    `SELECT ${key.map((k, j) => `${ident(k.name)}::text AS k${j}`).join(", ")} FROM ${qualified(args.schema, newT.physical)} LIMIT 1`,
  );
  const first = sample.rows[0];
  if (!first) return undefined;
  const vals = key.map((_, j) => first[`k${j}`]);
  const names = (m: TableModel) => key.map((k) => m.columns.find((x) => x.physical === k.name)?.name);
  const kOld = names(oldT);
  const kNew = names(newT);
  if (kNew.some((x) => !x) || kOld.some((x) => !x)) return undefined;
  // An identity ALWAYS or generated column can only be "updated" to DEFAULT:
  // write back the first key column that can be written, else any column both versions see.
  const writable = await c.query<{ name: string }>(
    `SELECT attname AS name FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0
        AND NOT attisdropped AND attidentity <> 'a' AND attgenerated = '' ORDER BY attnum`,
    [qualified(args.schema, newT.physical)],
  );
  const canWrite = new Set(writable.rows.map((r) => r.name));
  const target =
    key.map((k) => k.name).find((k) => canWrite.has(k)) ??
    newT.columns.find((x) => canWrite.has(x.physical) && oldT.columns.some((o) => o.physical === x.physical))
      ?.physical;
  if (!target) return undefined;
  const setTarget = (m: TableModel) => m.columns.find((x) => x.physical === target)!.name;
  const write = (schema: string, table: string, cols: Array<string | undefined>, set: string) =>
    c.query(
      `UPDATE ${qualified(schema, table)} SET ${ident(set)} = ${ident(set)} WHERE ${cols
        .map((k, j) => `${ident(k!)}::text = $${j + 1}`)
        .join(" AND ")}`,
      vals,
    );
  await c.query("SAVEPOINT probe");
  try {
    const a = await write(args.oldSchema, oldT.name, kOld, setTarget(oldT));
    const b = await write(args.newSchema, newT.name, kNew, setTarget(newT));
    return a.rowCount === 1 && b.rowCount === 1
      ? ""
      : "row written through one version is not visible through the other";
  } catch (err) {
    return (err as Error).message;
  } finally {
    await c.query("ROLLBACK TO SAVEPOINT probe");
  }
}
