import { expect } from "vitest";
import { describeOperation } from "./harness";

describeOperation("drop_index", [
  {
    name: "drop_index",
    operations: [{ drop_index: { name: "products_sku_idx" } }],
    new: async (c) => {
      await c.query("SELECT * FROM products WHERE sku = 'H-1'");
    },
    afterRollback: async (a) => {
      expect(
        (await a.query("SELECT to_regclass('public.products_sku_idx') IS NOT NULL AS ok")).rows[0].ok,
      ).toBe(true);
    },
    afterComplete: async (a) => {
      expect((await a.query("SELECT to_regclass('public.products_sku_idx') AS i")).rows[0].i).toBeNull();
    },
  },
]);
