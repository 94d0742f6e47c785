/** A migration's operations and the logical model of the database before and after each of them. */
import { type MigrationDefinition, validateMigrationObject } from "../file-format";
import { createOperation } from "../operations";
import type { MigrationRow } from "../state";
import { cloneModel, MigrationError, type Operation, type Queryable, type SchemaModel } from "../types";

export interface Prepared {
  ops: Operation[];
  /** models[i] = logical model before operation i; models[ops.length] = new version. */
  models: SchemaModel[];
}

/** Validates operations against the old version's model and computes every intermediate model. */
export function prepare(definition: MigrationDefinition, base: SchemaModel): Prepared {
  const ops = definition.operations.map(createOperation);
  const models: SchemaModel[] = [cloneModel(base)];
  let model = cloneModel(base);
  const touched = new Map<string, number>();
  ops.forEach((op, i) => {
    for (const key of op.touches?.(model) ?? []) {
      const prev = touched.get(key);
      if (prev !== undefined) {
        throw new MigrationError(
          "VALIDATION",
          `operation ${i + 1} (${op.describe()}) changes '${key}', which operation ${prev + 1} already changes; ` +
            "one change per column per migration (change_type has 'name' to rename at the same time)",
        );
      }
      touched.set(key, i);
    }
    op.applyToModel(model);
    model = cloneModel(model);
    models.push(cloneModel(model));
  });
  return { ops, models };
}

/** The same for a recorded attempt: its stored definition over the model it started from. */
export function prepareRecorded(row: MigrationRow): Prepared {
  return prepare(row.definition as MigrationDefinition, row.baseModel);
}

/** A migration given in code or read from a file, normalized; VALIDATION lists every problem. */
export function normalizeDefinition(migration: unknown): MigrationDefinition {
  const r = validateMigrationObject(migration);
  if (!r.ok) {
    throw new MigrationError(
      "VALIDATION",
      `invalid migration: ${r.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ")}`,
    );
  }
  return r.definition;
}

/**
 * The catalog checks of every operation (names already taken, columns that
 * cannot be shadowed), run before a new attempt records anything, so a
 * refused migration leaves the database as it was.
 */
export async function preflight(c: Queryable, schema: string, ops: Operation[]): Promise<void> {
  const shadowed = ops.flatMap((op) => (op.shadows ? [op.shadows()] : []));
  for (const op of ops) await op.preflight?.(c, { schema, shadowed });
}
