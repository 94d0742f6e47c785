/**
 * create_table: the table is created under its final name at start (the old
 * version's views do not list it, so it is invisible to blue). Rollback keeps
 * whatever green wrote: the table and its indexes are renamed aside and its
 * foreign keys dropped, so it can no longer block deletes in the old version.
 */
import { z } from "zod";
import { tableExists } from "../catalog";
import { asideName, ident, qualified } from "../sql";
import { MigrationError, type OpContext, type Operation, type SchemaModel } from "../types";
import { ColumnDef, generatedSql, Name, referencesSql, refuseGeneratedConflicts } from "./common";

export const kind = "create_table";

export const schema = z.strictObject({
  table: Name,
  columns: z.array(ColumnDef).min(1, "a table needs at least one column"),
  /**
   * Primary key over one or more columns (instead of `primary_key: true` on
   * one column): `[a, b]`, or `{ name, columns }` to name its constraint.
   */
  primary_key: z
    .union([z.array(Name).min(1), z.strictObject({ name: Name.optional(), columns: z.array(Name).min(1) })])
    .optional(),
});
export type CreateTable = z.infer<typeof schema>;

export function create(def: CreateTable): Operation {
  const pk = Array.isArray(def.primary_key) ? { columns: def.primary_key, name: undefined } : def.primary_key;
  const columnSql = (ctx: OpContext, model: SchemaModel) =>
    def.columns
      .map((c) =>
        [
          ident(c.name),
          c.type,
          c.nullable && !c.primary_key ? "" : "NOT NULL",
          c.default !== undefined ? `DEFAULT ${c.default}` : "",
          generatedSql(c),
          c.primary_key ? "PRIMARY KEY" : "",
          c.unique ? "UNIQUE" : "",
          c.references ? referencesSql(ctx.schema, model, c.references, `create_table ${def.table}`) : "",
          c.check ? `CHECK (${c.check})` : "",
        ]
          .filter(Boolean)
          .join(" "),
      )
      .concat(
        pk
          ? [
              `${pk.name ? `CONSTRAINT ${ident(pk.name)} ` : ""}PRIMARY KEY (${pk.columns.map(ident).join(", ")})`,
            ]
          : [],
      )
      .join(",\n  ");

  return {
    kind,
    describe: () => `create table ${def.table} (${def.columns.map((c) => c.name).join(", ")})`,
    applyToModel(model) {
      if (model.tables.some((t) => t.name === def.table)) {
        throw new MigrationError("VALIDATION", `create_table: table '${def.table}' already exists`);
      }
      const names = new Set<string>();
      for (const c of def.columns) {
        if (names.has(c.name))
          throw new MigrationError("VALIDATION", `create_table ${def.table}: column '${c.name}' twice`);
        names.add(c.name);
        refuseGeneratedConflicts(c, `create_table ${def.table} column ${c.name}`);
      }
      for (const k of pk?.columns ?? []) {
        if (!names.has(k))
          throw new MigrationError(
            "VALIDATION",
            `create_table ${def.table}: primary_key names unknown column '${k}'`,
          );
      }
      if (pk && def.columns.some((c) => c.primary_key)) {
        throw new MigrationError(
          "VALIDATION",
          `create_table ${def.table}: use either primary_key on the table or on one column`,
        );
      }
      model.tables.push({
        name: def.table,
        physical: def.table,
        columns: def.columns.map((c) => ({ name: c.name, physical: c.name })),
      });
    },
    async start(ctx) {
      await ctx.step(`start:${ctx.index}:create_table`, async (c) => {
        // Referenced tables resolve against the model including this table (self references).
        await c.query(
          `CREATE TABLE ${qualified(ctx.schema, def.table)} (\n  ${columnSql(ctx, ctx.after)}\n)`,
        );
      });
    },
    async complete() {},
    async rollback(ctx) {
      await ctx.step(`rollback:${ctx.index}:create_table`, async (c) => {
        if (!(await tableExists(c, ctx.schema, def.table))) return;
        const aside = asideName(ctx.migrationId, def.table);
        const fks = await c.query<{ name: string }>(
          `SELECT co.conname AS name FROM pg_constraint co JOIN pg_class cl ON cl.oid = co.conrelid
             JOIN pg_namespace n ON n.oid = cl.relnamespace
            WHERE n.nspname = $1 AND cl.relname = $2 AND co.contype = 'f'`,
          [ctx.schema, def.table],
        );
        for (const fk of fks.rows) {
          await c.query(`ALTER TABLE ${qualified(ctx.schema, def.table)} DROP CONSTRAINT ${ident(fk.name)}`);
        }
        // Index (and constraint) names are schema-wide; free them for the next attempt.
        const idx = await c.query<{ name: string }>(
          `SELECT ic.relname AS name FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
             JOIN pg_class cl ON cl.oid = i.indrelid JOIN pg_namespace n ON n.oid = cl.relnamespace
            WHERE n.nspname = $1 AND cl.relname = $2`,
          [ctx.schema, def.table],
        );
        for (const i of idx.rows) {
          await c.query(
            `ALTER INDEX ${qualified(ctx.schema, i.name)} RENAME TO ${ident(asideName(ctx.migrationId, i.name))}`,
          );
        }
        await c.query(`ALTER TABLE ${qualified(ctx.schema, def.table)} RENAME TO ${ident(aside)}`);
        await ctx.recordAside(c, { kind: "table", table: aside, originalName: def.table });
      });
    },
  };
}
