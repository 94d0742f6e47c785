/**
 * Small SQL helpers shared by the engine and every operation. Identifiers are
 * always quoted: migration files name tables and columns, and a name such as
 * `order` or `User` must survive unchanged.
 */
import { createHash } from "node:crypto";

export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function qualified(schema: string, name: string): string {
  return `${ident(schema)}.${ident(name)}`;
}

export function literal(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** PostgreSQL truncates identifiers at 63 bytes; keep names unique by hashing the overflow. */
export function pgName(name: string): string {
  if (Buffer.byteLength(name) <= 63) return name;
  const hash = createHash("sha1").update(name).digest("hex").slice(0, 8);
  return `${Buffer.from(name)
    .subarray(0, 54)
    .toString("utf8")
    .replace(/\uFFFD+$/, "")}_${hash}`;
}

/** Prefix of every object the engine creates in the application's schema. */
export const INTERNAL_PREFIX = "_ss_";

/** Physical name of a column that shadows `column` while a migration is active. */
export function shadowColumn(column: string): string {
  return pgName(`${INTERNAL_PREFIX}new_${column}`);
}

/** Name given to a table or column the rollback of migration `id` put aside (data is kept). */
export function asideName(id: number, name: string): string {
  return pgName(`${INTERNAL_PREFIX}rb${id}_${name}`);
}

/** Trigger (and its function) of operation `index` of migration `id`. */
export function triggerName(id: number, index: number, table: string): string {
  return pgName(`${INTERNAL_PREFIX}${id}_${index}_${table}`);
}

/** NOT VALID check that stands in for NOT NULL until complete validates it. */
export function notNullCheckName(id: number, column: string): string {
  return pgName(`${INTERNAL_PREFIX}nn${id}_${column}`);
}

/**
 * The identifiers an SQL expression mentions (quoted or bare). Trigger
 * functions declare a variable per mentioned column only, so a trigger never
 * references a column another operation drops.
 */
export function mentionedIdentifiers(expression: string): Set<string> {
  const out = new Set<string>();
  const stripped = expression.replace(/'(?:[^']|'')*'/g, "''");
  for (const m of stripped.matchAll(/"((?:[^"]|"")+)"|([A-Za-z_][A-Za-z0-9_$]*)/g)) {
    if (m[1] !== undefined) out.add(m[1].replace(/""/g, '"'));
    else if (m[2] !== undefined) out.add(m[2].toLowerCase());
  }
  return out;
}
