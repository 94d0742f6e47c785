import type { Client } from "pg";
import { expect } from "vitest";
import { colType, describeOperation } from "./harness";

const constraint = async (a: Client, name: string) =>
  (
    await a.query(
      `SELECT contype, convalidated, confupdtype, confmatchtype, condeferrable, condeferred
         FROM pg_constraint WHERE conname = $1`,
      [name],
    )
  ).rows[0];

describeOperation("alter_column", [
  {
    name: "alter_column type, NOT NULL, default, check and comment together",
    operations: [
      {
        alter_column: {
          table: "products",
          column: "description",
          type: "varchar(200)",
          nullable: false,
          up: "COALESCE(description, '')",
          down: "description",
          default: "'n/a'",
          check: "length(description) < 100",
          comment: "short text",
        },
      },
    ],
    old: async (c) => {
      // The old version still writes NULLs and long texts into its own column.
      await c.query("INSERT INTO products (name, description) VALUES ('old-null', NULL)");
    },
    new: async (c) => {
      const r = await c.query("INSERT INTO products (name) VALUES ('New') RETURNING description");
      expect(r.rows[0].description).toBe("n/a");
      await expect(
        c.query("INSERT INTO products (name, description) VALUES ('x', repeat('y', 150))"),
      ).rejects.toThrow(/check/);
      const old = await c.query("SELECT description FROM products WHERE name = 'old-null' LIMIT 1");
      if (old.rows[0]) expect(old.rows[0].description).toBe("");
    },
    afterCompleteNew: async (c) => {
      // While both versions run, a NULL either version writes goes through 'up'; after complete it is refused.
      await expect(c.query("INSERT INTO products (name, description) VALUES ('x', NULL)")).rejects.toThrow(
        /null value/,
      );
      const r = await c.query("INSERT INTO products (name) VALUES ('After') RETURNING description");
      expect(r.rows[0].description).toBe("n/a");
    },
    afterRollback: async (a) => {
      expect(await colType(a, "products", "description")).toEqual({
        data_type: "text",
        is_nullable: "YES",
        column_default: null,
      });
      expect(await constraint(a, "products_description_check")).toBeUndefined();
    },
    afterComplete: async (a) => {
      expect(await colType(a, "products", "description")).toEqual({
        data_type: "character varying",
        is_nullable: "NO",
        column_default: "'n/a'::character varying",
      });
      expect((await constraint(a, "products_description_check"))?.convalidated).toBe(true);
      const r = await a.query(
        `SELECT col_description('public.products'::regclass, attnum) AS c FROM pg_attribute
          WHERE attrelid = 'public.products'::regclass AND attname = 'description'`,
      );
      expect(r.rows[0].c).toBe("short text");
    },
  },
  {
    name: "alter_column rename, default and unique together (no shadow)",
    operations: [
      { alter_column: { table: "products", column: "sku", name: "code", default: "'none'", unique: true } },
    ],
    new: async (c) => {
      const r = await c.query("INSERT INTO products (name) VALUES ('New') RETURNING id, code");
      expect(r.rows[0].code).toBe("none");
      await c.query("DELETE FROM products WHERE id = $1", [r.rows[0].id]);
      await expect(c.query("INSERT INTO products (name, code) VALUES ('dup', 'H-1')")).rejects.toThrow(
        /duplicate/,
      );
    },
    afterRollback: async (a) => {
      expect(await colType(a, "products", "sku")).toMatchObject({ column_default: null });
      expect((await a.query("SELECT to_regclass('public.products_code_key') AS i")).rows[0].i).toBeNull();
    },
    afterComplete: async (a) => {
      expect(await colType(a, "products", "code")).toMatchObject({ column_default: "'none'::text" });
      expect((await constraint(a, "products_code_key"))?.contype).toBe("u");
    },
  },
  {
    name: "alter_column references with ON UPDATE CASCADE, MATCH FULL, DEFERRABLE",
    operations: [
      {
        alter_column: {
          table: "products",
          column: "category_id",
          references: {
            table: "categories",
            column: "id",
            on_update: "CASCADE",
            on_delete: "SET NULL",
            match: "full",
            deferrable: true,
            initially_deferred: true,
          },
        },
      },
    ],
    new: async (c) => {
      const r = await c.query("UPDATE categories SET id = id + 100 WHERE title = 'toys' RETURNING id");
      const p = await c.query("SELECT category_id FROM products WHERE name = 'Ball'");
      expect(p.rows[0].category_id).toBe(r.rows[0].id);
      // Checked at commit: the row may come before the category it names.
      await c.query("BEGIN");
      await c.query("INSERT INTO products (name, category_id) VALUES ('later', 424242)");
      await c.query("INSERT INTO categories (id, title) VALUES (424242, 'later')");
      await c.query("COMMIT");
      await c.query("DELETE FROM products WHERE category_id = 424242");
      await c.query("DELETE FROM categories WHERE id = 424242");
      await expect(c.query("UPDATE products SET category_id = 999999 WHERE name = 'Saw'")).rejects.toThrow(
        /foreign key/,
      );
    },
    afterRollback: async (a) => {
      expect(await constraint(a, "products_category_id_fkey")).toBeUndefined();
    },
    afterComplete: async (a) => {
      expect(await constraint(a, "products_category_id_fkey")).toEqual({
        contype: "f",
        convalidated: true,
        confupdtype: "c",
        confmatchtype: "f",
        condeferrable: true,
        condeferred: true,
      });
    },
  },
]);
