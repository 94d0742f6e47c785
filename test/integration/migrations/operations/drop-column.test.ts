import { expect } from "vitest";
import { colType, describeOperation } from "./harness";

describeOperation("drop_column", [
  {
    name: "drop_column",
    operations: [{ drop_column: { table: "products", column: "description" } }],
    old: async (c) => {
      await c.query("UPDATE products SET description = 'still here' WHERE id = 1");
    },
    new: async (c) => {
      await expect(c.query("SELECT description FROM products")).rejects.toThrow(/does not exist/);
      await c.query("INSERT INTO products (name) VALUES ('nodesc')");
    },
    afterRollback: async (a) => {
      expect(
        (await a.query("SELECT description FROM public.products WHERE id = 1")).rows[0].description,
      ).toBe("still here");
    },
    afterComplete: async (a) => {
      expect(await colType(a, "products", "description")).toBeUndefined();
    },
  },
  {
    name: "drop_column NOT NULL with down",
    operations: [
      { drop_column: { table: "products", column: "name", down: "'sku:' || coalesce(sku, '?')" } },
    ],
    old: async (c) => {
      await c.query("INSERT INTO products (name) VALUES ('old-named')");
    },
    new: async (c) => {
      await c.query("INSERT INTO products (sku) VALUES ('N-9')");
    },
    afterRollback: async (a) => {
      const r = await a.query("SELECT name FROM public.products WHERE sku = 'N-9'");
      expect(r.rows[0].name).toBe("sku:N-9");
    },
    afterComplete: async (a) => {
      expect(await colType(a, "products", "name")).toBeUndefined();
    },
  },
]);
