import { expect } from "vitest";
import { describeOperation } from "./harness";

describeOperation("create_index", [
  {
    name: "create_index",
    operations: [{ create_index: { name: "products_name_idx", table: "products", columns: ["name"] } }],
    new: async (c) => {
      await c.query("SELECT * FROM products WHERE name = 'Hammer'");
    },
    afterRollback: async (a) => {
      expect((await a.query("SELECT to_regclass('public.products_name_idx') AS i")).rows[0].i).toBeNull();
    },
    afterComplete: async (a) => {
      expect(
        (await a.query("SELECT to_regclass('public.products_name_idx') IS NOT NULL AS ok")).rows[0].ok,
      ).toBe(true);
    },
  },
]);
