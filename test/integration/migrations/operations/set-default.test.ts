import { expect } from "vitest";
import { colType, describeOperation } from "./harness";

describeOperation("set_default", [
  {
    name: "set_default",
    operations: [{ set_default: { table: "products", column: "price", default: "5" } }],
    old: async (c) => {
      const r = await c.query("INSERT INTO products (name) VALUES ('old-default') RETURNING price");
      expect(r.rows[0].price).toBe("0.00");
    },
    new: async (c) => {
      const r = await c.query("INSERT INTO products (name) VALUES ('new-default') RETURNING price");
      expect(r.rows[0].price).toBe("5.00");
    },
    afterComplete: async (a) => {
      expect(await colType(a, "products", "price")).toMatchObject({ column_default: "5" });
    },
  },
]);
