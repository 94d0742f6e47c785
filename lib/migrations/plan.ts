/**
 * Which migrations of a folder still have to run, given what the database
 * recorded. Shared by the CLI and the deployment workflow's activities.
 */

import type { StatusResult } from "./engine";
import type { MigrationDefinition } from "./file-format";
import { MigrationError } from "./types";

export interface Plan {
  /** Completed on this database, in folder order. */
  completed: string[];
  /** The one migration currently in progress, if any. */
  active: { name: string; phase: string } | null;
  /** Not completed yet, in folder order (the active one first if it is in the folder). */
  pending: MigrationDefinition[];
}

export function planMigrations(definitions: MigrationDefinition[], status: StatusResult): Plan {
  const done = new Set(status.migrations.filter((m) => m.phase === "completed").map((m) => m.name));
  const known = new Set(definitions.map((d) => d.name));
  const unknown = [...done].filter((n) => !known.has(n));
  if (unknown.length) {
    throw new MigrationError(
      "VALIDATION",
      `the database has completed migrations that are not in the folder: ${unknown.join(", ")}`,
    );
  }
  const pending = definitions.filter((d) => !done.has(d.name));
  const firstPending = definitions.findIndex((d) => !done.has(d.name));
  if (firstPending >= 0) {
    const later = definitions.slice(firstPending).filter((d) => done.has(d.name));
    if (later.length) {
      throw new MigrationError(
        "VALIDATION",
        `migration '${definitions[firstPending]?.name}' is not completed but later ones are (${later.map((d) => d.name).join(", ")}); migrations apply in file-name order`,
      );
    }
  }
  return {
    completed: definitions.filter((d) => done.has(d.name)).map((d) => d.name),
    active: status.active ? { name: status.active.name, phase: status.active.phase } : null,
    pending,
  };
}
