import { expect } from "vitest";
import { colType, describeOperation } from "./harness";

describeOperation("rename_column", [
  {
    name: "rename_column",
    operations: [{ rename_column: { table: "products", from: "name", to: "title" } }],
    old: async (c) => {
      await c.query("UPDATE products SET name = 'Hammer v2' WHERE id = 1");
    },
    new: async (c) => {
      expect((await c.query("SELECT title FROM products WHERE id = 1")).rows[0].title).toMatch(/^Hammer/);
      await c.query("INSERT INTO products (title) VALUES ('new-title')");
      await c.query("UPDATE products SET title = 'Saw v2' WHERE id = 2");
    },
    afterRollback: async (a) => {
      expect((await a.query("SELECT name FROM public.products WHERE id = 2")).rows[0].name).toBe("Saw v2");
    },
    afterComplete: async (a) => {
      expect(await colType(a, "products", "title")).toBeDefined();
      expect(await colType(a, "products", "name")).toBeUndefined();
    },
  },
]);
