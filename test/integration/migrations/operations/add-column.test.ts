import { expect } from "vitest";
import { colType, describeOperation } from "./harness";

describeOperation("add_column", [
  {
    name: "add_column with default and NOT NULL",
    operations: [
      {
        add_column: {
          table: "products",
          column: { name: "stock", type: "int", nullable: false, default: "7" },
        },
      },
    ],
    old: async (c) => {
      await expect(c.query("SELECT stock FROM products")).rejects.toThrow(/does not exist/);
    },
    new: async (c) => {
      await c.query("DELETE FROM products WHERE name = 'withstock'");
      await c.query("INSERT INTO products (name, stock) VALUES ('withstock', 5)");
      const r = await c.query(
        "SELECT name, stock FROM products WHERE name IN ('Hammer', 'withstock') ORDER BY name",
      );
      expect(r.rows).toEqual([
        { name: "Hammer", stock: 7 },
        { name: "withstock", stock: 5 },
      ]);
    },
    afterRollback: async (a) => {
      const r = await a.query(`SELECT "_ss_rb2_stock" AS s FROM public.products WHERE name = 'withstock'`);
      expect(r.rows).toEqual([{ s: 5 }]);
    },
    afterComplete: async (a) => {
      expect(await colType(a, "products", "stock")).toMatchObject({ is_nullable: "NO", column_default: "7" });
    },
  },
  {
    name: "add_column NOT NULL computed by up",
    operations: [
      {
        add_column: {
          table: "products",
          column: { name: "slug", type: "text", nullable: false, up: "lower(name)" },
        },
      },
    ],
    old: async (c) => {
      await c.query("INSERT INTO products (name) VALUES ('From Old')");
    },
    new: async (c) => {
      const r = await c.query("SELECT slug FROM products WHERE name IN ('Hammer', 'From Old') ORDER BY id");
      expect(r.rows.map((x) => x.slug)).toContain("hammer");
      expect(r.rows.map((x) => x.slug)).toContain("from old");
      await c.query("DELETE FROM products WHERE name = 'X'");
      await c.query("INSERT INTO products (name, slug) VALUES ('X', 'custom')");
      expect((await c.query("SELECT slug FROM products WHERE name = 'X'")).rows[0].slug).toBe("custom");
      await expect(c.query("SELECT count(*) FROM products WHERE slug IS NULL")).resolves.toMatchObject({
        rows: [{ count: "0" }],
      });
    },
    afterComplete: async (a) => {
      expect(await colType(a, "products", "slug")).toMatchObject({ is_nullable: "NO" });
    },
  },
  {
    name: "add_column unique + check + foreign key",
    operations: [
      {
        add_column: {
          table: "products",
          column: { name: "code", type: "text", unique: true, check: "length(code) > 2" },
        },
      },
      {
        add_column: {
          table: "products",
          column: { name: "alt_category", type: "int", references: { table: "categories", column: "id" } },
        },
      },
    ],
    new: async (c) => {
      await c.query("UPDATE products SET code = 'abc', alt_category = 2 WHERE id = 1");
      await expect(c.query("UPDATE products SET code = 'abc' WHERE id = 2")).rejects.toThrow(/duplicate key/);
      await expect(c.query("UPDATE products SET code = 'x' WHERE id = 2")).rejects.toThrow(
        /check constraint/,
      );
      await expect(c.query("UPDATE products SET alt_category = 99 WHERE id = 2")).rejects.toThrow(
        /foreign key/,
      );
    },
    afterRollback: async (a) => {
      const r = await a.query(`SELECT "_ss_rb2_code" AS code FROM public.products WHERE id = 1`);
      expect(r.rows).toEqual([{ code: "abc" }]);
      // The put-aside column no longer constrains the old version.
      await a.query(`UPDATE public.products SET "_ss_rb2_code" = 'abc' WHERE id = 2`);
      await a.query(
        "DELETE FROM public.categories WHERE id = 2 AND NOT EXISTS (SELECT 1 FROM public.products WHERE category_id = 2)",
      );
    },
    afterComplete: async (a) => {
      const cons = await a.query(
        "SELECT conname, convalidated FROM pg_constraint WHERE conrelid = 'public.products'::regclass ORDER BY 1",
      );
      expect(cons.rows).toEqual(
        expect.arrayContaining([
          { conname: "products_code_key", convalidated: true },
          { conname: "products_code_check", convalidated: true },
          { conname: "products_alt_category_fkey", convalidated: true },
        ]),
      );
    },
  },
]);
