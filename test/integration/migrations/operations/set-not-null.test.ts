import { expect } from "vitest";
import { colType, describeOperation } from "./harness";

describeOperation("set_not_null", [
  {
    name: "set_not_null",
    operations: [
      { set_not_null: { table: "products", column: "description", up: "coalesce(description, '(none)')" } },
    ],
    old: async (c) => {
      await c.query("INSERT INTO products (name, description) VALUES ('nulldesc', NULL)");
    },
    new: async (c) => {
      const r = await c.query("SELECT DISTINCT description FROM products WHERE name = 'nulldesc'");
      expect(r.rows.map((x) => x.description)).toEqual(["(none)"]);
      await c.query("UPDATE products SET description = 'sharp' WHERE name = 'Saw'");
    },
    afterRollback: async (a) => {
      const r = await a.query(
        "SELECT DISTINCT name, description FROM public.products WHERE name IN ('Saw', 'nulldesc') ORDER BY name",
      );
      expect(r.rows).toEqual([
        { name: "Saw", description: "sharp" },
        { name: "nulldesc", description: null },
      ]);
    },
    afterComplete: async (a) => {
      expect(await colType(a, "products", "description")).toMatchObject({ is_nullable: "NO" });
    },
  },
]);
