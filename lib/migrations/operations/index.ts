/** Registry of operation kinds: migration files name an operation by its key (`- change_type: {…}`). */
import type { z } from "zod";
import type { Operation } from "../types";
import * as addColumn from "./add-column";
import * as addConstraint from "./add-constraint";
import * as alterColumn from "./alter-column";
import * as changeType from "./change-type";
import * as createIndex from "./create-index";
import * as createTable from "./create-table";
import * as dropColumn from "./drop-column";
import * as dropConstraint from "./drop-constraint";
import * as dropIndex from "./drop-index";
import * as dropNotNull from "./drop-not-null";
import * as dropTable from "./drop-table";
import * as rawSql from "./raw-sql";
import * as renameColumn from "./rename-column";
import * as renameConstraint from "./rename-constraint";
import * as renameTable from "./rename-table";
import * as setComment from "./set-comment";
import * as setDefault from "./set-default";
import * as setNotNull from "./set-not-null";
import * as setReplicaIdentity from "./set-replica-identity";

interface OperationModule {
  kind: string;
  schema: z.ZodType;
  // biome-ignore lint/suspicious/noExplicitAny: each module's create takes its own parsed definition
  create(def: any): Operation;
}

const modules: OperationModule[] = [
  createTable,
  dropTable,
  addColumn,
  dropColumn,
  renameColumn,
  renameTable,
  changeType,
  setNotNull,
  dropNotNull,
  addConstraint,
  dropConstraint,
  createIndex,
  dropIndex,
  setDefault,
  rawSql,
  setComment,
  renameConstraint,
  setReplicaIdentity,
  alterColumn,
];

export const OPERATIONS: ReadonlyMap<string, OperationModule> = new Map(modules.map((m) => [m.kind, m]));
export const OPERATION_KINDS = modules.map((m) => m.kind);

/** `{ change_type: {...} }` (already validated) -> Operation. */
export function createOperation(def: Record<string, unknown>): Operation {
  const [kind, body] = Object.entries(def)[0] ?? [];
  const m = kind ? OPERATIONS.get(kind) : undefined;
  if (!m) throw new Error(`unknown operation ${kind}`);
  return m.create(m.schema.parse(body));
}
