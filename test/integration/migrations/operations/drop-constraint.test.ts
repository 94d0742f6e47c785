import { expect } from "vitest";
import { describeOperation } from "./harness";

describeOperation("drop_constraint", [
  {
    name: "drop_constraint",
    operations: [{ drop_constraint: { table: "products", name: "products_price_check" } }],
    new: async (c) => {
      // Still enforced while the old version runs.
      await expect(c.query("UPDATE products SET price = -1 WHERE id = 1")).rejects.toThrow(/check/);
    },
    afterCompleteNew: async (c) => {
      await c.query("UPDATE products SET price = -1 WHERE id = 1");
    },
    afterComplete: async (a) => {
      expect(
        (await a.query("SELECT 1 FROM pg_constraint WHERE conname = 'products_price_check'")).rowCount,
      ).toBe(0);
    },
  },
]);
