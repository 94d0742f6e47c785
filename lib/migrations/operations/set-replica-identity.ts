/**
 * set_replica_identity: what logical replication writes to identify a row in
 * UPDATE and DELETE (`default`: the primary key; `full`: the whole row;
 * `nothing`; `index`: a unique index). One setting per table, shared by both
 * versions, and a catalog change only (no scan, no rewrite), so complete
 * applies it and rollback has nothing to undo. Start checks that a named
 * index exists (it may come from an earlier operation of the migration);
 * PostgreSQL itself refuses an index that is not unique, is partial, or
 * covers a nullable column.
 */
import { z } from "zod";
import { indexState, tableExists } from "../catalog";
import { ident, qualified } from "../sql";
import { findTable, MigrationError, type Operation } from "../types";
import { Name } from "./common";

export const kind = "set_replica_identity";
export const schema = z.discriminatedUnion("identity", [
  z.strictObject({ table: Name, identity: z.enum(["default", "full", "nothing"]) }),
  z.strictObject({ table: Name, identity: z.literal("index"), index: Name }),
]);
export type SetReplicaIdentity = z.infer<typeof schema>;

export function create(def: SetReplicaIdentity): Operation {
  let table = def.table;
  const label = `set_replica_identity ${def.table} ${def.identity}${def.identity === "index" ? ` ${def.index}` : ""}`;
  const clause = def.identity === "index" ? `USING INDEX ${ident(def.index)}` : def.identity.toUpperCase();
  return {
    kind,
    describe: () => label,
    applyToModel(model) {
      table = findTable(model, def.table, kind).physical;
    },
    async start(ctx) {
      if (def.identity !== "index") return;
      await ctx.step(`start:${ctx.index}:set_replica_identity:check`, async (c) => {
        if (!(await indexState(c, ctx.schema, def.index)).exists) {
          throw new MigrationError("VALIDATION", `${label}: index '${def.index}' does not exist`);
        }
      });
    },
    async complete(ctx) {
      await ctx.step(`complete:${ctx.index}:set_replica_identity`, async (c) => {
        if (!(await tableExists(c, ctx.schema, table))) return;
        await c.query(`ALTER TABLE ${qualified(ctx.schema, table)} REPLICA IDENTITY ${clause}`);
      });
    },
    async rollback() {},
    touches: () => [`${def.table}:replica_identity`],
  };
}
