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
  return prepareOperations(definition.operations, base, {
    label: (i) => `operation ${i + 1}`,
    rule: "one change per column per migration (change_type has 'name' to rename at the same time)",
  });
}

/**
 * The same for several migrations started together as one attempt: their
 * operations in order, each named by its migration in errors, so a release
 * that cannot start together says which file to move to a later release.
 */
export function prepareTogether(parts: readonly MigrationDefinition[], base: SchemaModel): Prepared {
  const where = parts.flatMap((p) => p.operations.map((_, i) => `operation ${i + 1} of ${p.name}`));
  return prepareOperations(
    parts.flatMap((p) => p.operations),
    base,
    {
      label: (i) => where[i]!,
      rule:
        "one change per column per attempt, and a release's migrations start together as one attempt " +
        "(the old version keeps its schema until the release is finalized); deploy the later migration in a later release",
      prefixErrors: true,
    },
  );
}

function prepareOperations(
  operations: MigrationDefinition["operations"],
  base: SchemaModel,
  how: { label: (i: number) => string; rule: string; prefixErrors?: boolean },
): Prepared {
  const ops = operations.map(createOperation);
  const models: SchemaModel[] = [cloneModel(base)];
  let model = cloneModel(base);
  const touched = new Map<string, number>();
  ops.forEach((op, i) => {
    for (const key of op.touches?.(model) ?? []) {
      const prev = touched.get(key);
      if (prev !== undefined) {
        throw new MigrationError(
          "VALIDATION",
          `${how.label(i)} (${op.describe()}) changes '${key}', which ${how.label(prev)} already changes; ${how.rule}`,
        );
      }
      touched.set(key, i);
    }
    try {
      op.applyToModel(model);
    } catch (err) {
      if (!how.prefixErrors || !(err instanceof MigrationError)) throw err;
      throw new MigrationError(err.code, `${how.label(i)}: ${err.message}`, { cause: err });
    }
    model = cloneModel(model);
    models.push(cloneModel(model));
  });
  return { ops, models };
}

/** The one definition an attempt of several migrations runs: the last one's name, every operation in order. */
export function mergeDefinitions(parts: readonly MigrationDefinition[]): MigrationDefinition {
  return { name: parts.at(-1)!.name, operations: parts.flatMap((p) => p.operations) };
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
