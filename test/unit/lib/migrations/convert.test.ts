import { describe, expect, it } from "vitest";
import { convertSql } from "../../../../lib/migrations/convert";
import { validateMigrationObject } from "../../../../lib/migrations/file-format";

describe("convertSql: DDL -> operations, never a guess", () => {
  it("converts what has an exact equivalent, in order, into operations the engine accepts", async () => {
    const r = await convertSql(`
CREATE TABLE invoices (
  id bigint GENERATED ALWAYS AS IDENTITY (START WITH 1000 INCREMENT BY 2),
  year int NOT NULL,
  net numeric(10,2) NOT NULL DEFAULT 0 CHECK (net >= 0),
  gross numeric(10,2) GENERATED ALWAYS AS (round(net * 1.2, 2)) STORED,
  customer_id bigint REFERENCES customers (id) MATCH FULL ON DELETE CASCADE ON UPDATE CASCADE DEFERRABLE INITIALLY DEFERRED,
  CONSTRAINT invoices_pk PRIMARY KEY (id, year),
  CONSTRAINT invoices_year_net_key UNIQUE (year, net) INCLUDE (gross)
);
ALTER TABLE products ADD COLUMN note text DEFAULT 'none', ALTER COLUMN sku SET NOT NULL, ALTER COLUMN price SET DEFAULT 1;
CREATE INDEX CONCURRENTLY products_name_idx ON products USING btree (name COLLATE "C" text_pattern_ops DESC NULLS LAST, price) INCLUDE (sku) WITH (fillfactor = 70) WHERE price > 0;
COMMENT ON TABLE products IS 'What we sell';
COMMENT ON COLUMN products.sku IS NULL;
ALTER TABLE products RENAME CONSTRAINT products_price_check TO price_not_negative;
ALTER TABLE products RENAME COLUMN sku TO code;
ALTER TABLE products RENAME TO goods;
ALTER TABLE goods REPLICA IDENTITY USING INDEX goods_pkey;
ALTER TABLE goods ADD CONSTRAINT goods_cat_fk FOREIGN KEY (category_id) REFERENCES categories (id) ON UPDATE CASCADE;
ALTER TABLE goods ADD CONSTRAINT goods_pk2 PRIMARY KEY (id);
ALTER TABLE bookings ADD CONSTRAINT no_overlap EXCLUDE USING gist (room_id WITH =, tstzrange(starts, ends) WITH &&) WHERE (NOT cancelled);
ALTER TABLE goods DROP CONSTRAINT old_check, DROP COLUMN legacy;
DROP INDEX CONCURRENTLY old_idx;
DROP TABLE a, b;
`);
    expect(r.unconverted).toEqual([]);
    expect(r.operations).toEqual([
      {
        create_table: {
          table: "invoices",
          columns: [
            { name: "id", type: "bigint", identity: { generated: "always", start: 1000, increment: 2 } },
            { name: "year", type: "int", nullable: false },
            { name: "net", type: "numeric(10, 2)", nullable: false, default: "0", check: "net >= 0" },
            { name: "gross", type: "numeric(10, 2)", generated: "round(net * 1.2, 2)" },
            {
              name: "customer_id",
              type: "bigint",
              references: {
                table: "customers",
                column: "id",
                on_delete: "CASCADE",
                on_update: "CASCADE",
                match: "full",
                deferrable: true,
                initially_deferred: true,
              },
            },
          ],
          primary_key: { name: "invoices_pk", columns: ["id", "year"] },
        },
      },
      {
        add_constraint: {
          table: "invoices",
          type: "unique",
          name: "invoices_year_net_key",
          columns: ["year", "net"],
          include: ["gross"],
        },
      },
      { add_column: { table: "products", column: { name: "note", type: "text", default: "'none'" } } },
      { set_not_null: { table: "products", column: "sku", up: "sku" } },
      { set_default: { table: "products", column: "price", default: "1" } },
      {
        create_index: {
          name: "products_name_idx",
          table: "products",
          columns: [
            { name: "name", collate: "C", opclass: "text_pattern_ops", sort: "desc", nulls: "last" },
            "price",
          ],
          include: ["sku"],
          storage_parameters: { fillfactor: 70 },
          where: "price > 0",
        },
      },
      { set_comment: { table: "products", comment: "What we sell" } },
      { set_comment: { table: "products", column: "sku", comment: null } },
      { rename_constraint: { table: "products", from: "products_price_check", to: "price_not_negative" } },
      { rename_column: { table: "products", from: "sku", to: "code" } },
      { rename_table: { from: "products", to: "goods" } },
      { set_replica_identity: { table: "goods", identity: "index", index: "goods_pkey" } },
      {
        add_constraint: {
          table: "goods",
          type: "foreign_key",
          name: "goods_cat_fk",
          columns: ["category_id"],
          references: { table: "categories", columns: ["id"] },
          on_update: "CASCADE",
        },
      },
      { add_constraint: { table: "goods", type: "primary_key", name: "goods_pk2", columns: ["id"] } },
      {
        add_constraint: {
          table: "bookings",
          type: "exclude",
          name: "no_overlap",
          using: "gist",
          elements: [
            { column: "room_id", operator: "=" },
            { expression: "tstzrange(starts, ends)", operator: "&&" },
          ],
          where: "NOT (cancelled)",
        },
      },
      { drop_constraint: { table: "goods", name: "old_check" } },
      { drop_column: { table: "goods", column: "legacy" } },
      { drop_index: { name: "old_idx" } },
      { drop_table: { table: "a" } },
      { drop_table: { table: "b" } },
    ]);
    expect(validateMigrationObject({ name: "x", operations: r.operations }).ok).toBe(true);
  });

  it("lists what it cannot convert with the statement's line and why, converting none of it", async () => {
    const r = await convertSql(
      [
        "BEGIN;", // 1: ignored
        "-- a comment", // 2
        "ALTER TABLE t ALTER COLUMN c TYPE bigint USING c::bigint;", // 3
        "ALTER TABLE t ADD CHECK (c > 0);", // 4
        "ALTER TABLE t ADD CONSTRAINT c_pos CHECK (c > 0) NOT VALID;", // 5
        "ALTER TABLE t ADD COLUMN ok int, ALTER COLUMN d DROP NOT NULL;", // 6: whole statement refused
        "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;", // 7: one statement despite the ;
        "DROP TABLE x CASCADE;", // 8
        "CREATE TABLE s.t (id int);", // 9
        "ALTER TABLE t ADD COLUMN n int NOT NULL;", // 10
        "ALTER TABLE t ADD COLUMN g int GENERATED ALWAYS AS (c * 2) STORED;", // 11
        "CREATE INDEX ON t (c);", // 12
        "CREATE TABLE ( broken;", // 13
        "COMMIT;", // 14: ignored
      ].join("\n"),
    );
    expect(r.operations).toEqual([]);
    expect(r.ignored.map((i) => i.line)).toEqual([1, 14]);
    expect(r.unconverted.map((u) => [u.line, u.reason])).toEqual([
      [3, expect.stringMatching(/needs 'down'/)],
      [4, expect.stringMatching(/unnamed check constraint/)],
      [5, expect.stringMatching(/NOT VALID/)],
      [6, expect.stringMatching(/DROP NOT NULL needs 'down'/)],
      [7, expect.stringMatching(/CreateFunction has no equivalent/)],
      [8, expect.stringMatching(/CASCADE/)],
      [9, expect.stringMatching(/schema-qualified/)],
      [10, expect.stringMatching(/needs 'up'/)],
      [11, expect.stringMatching(/identity \/ generated rewrites the table/)],
      [12, expect.stringMatching(/unnamed index/)],
      [13, expect.stringMatching(/not valid PostgreSQL: syntax error/)],
    ]);
    expect(r.unconverted[4]!.statement).toBe(
      "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql",
    );
  });
});
