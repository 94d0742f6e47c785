import { expect } from "vitest";
import { colType, describeOperation } from "./harness";

describeOperation("drop_not_null", [
  {
    name: "drop_not_null",
    operations: [{ drop_not_null: { table: "products", column: "name", down: "coalesce(name, 'unnamed')" } }],
    new: async (c) => {
      await c.query("DELETE FROM products WHERE sku = 'NN-1'");
      await c.query("INSERT INTO products (name, sku) VALUES (NULL, 'NN-1')");
      expect((await c.query("SELECT name FROM products WHERE sku = 'NN-1'")).rows[0].name).toBeNull();
    },
    old: async (c) => {
      await c.query("INSERT INTO products (name, sku) VALUES ('named', 'NN-2')");
    },
    afterRollback: async (a) => {
      expect((await a.query("SELECT name FROM public.products WHERE sku = 'NN-1'")).rows[0].name).toBe(
        "unnamed",
      );
    },
    afterComplete: async (a) => {
      expect(await colType(a, "products", "name")).toMatchObject({ is_nullable: "YES" });
    },
  },
]);
