import { expect } from "vitest";
import { colType, describeOperation } from "./harness";

describeOperation("change_type", [
  {
    name: "change_type (with rename)",
    operations: [
      {
        change_type: {
          table: "products",
          column: "price",
          name: "price_cents",
          type: "bigint",
          up: "(price * 100)::bigint",
          down: "price_cents / 100.0",
        },
      },
    ],
    old: async (c) => {
      await c.query("UPDATE products SET price = 7.25 WHERE id = 3");
    },
    new: async (c) => {
      expect((await c.query("SELECT price_cents FROM products WHERE id = 3")).rows[0].price_cents).toBe(
        "725",
      );
      expect((await c.query("SELECT price_cents FROM products WHERE id = 1")).rows[0].price_cents).toBe(
        "1250",
      );
      await c.query("UPDATE products SET price_cents = 999 WHERE id = 2");
      await c.query("INSERT INTO products (name, price_cents) VALUES ('cents', 150)");
    },
    afterRollback: async (a) => {
      const r = await a.query(
        "SELECT name, price FROM public.products WHERE id = 2 OR name = 'cents' ORDER BY id",
      );
      expect(r.rows).toEqual([
        { name: "Saw", price: "9.99" },
        { name: "cents", price: "1.50" },
      ]);
    },
    afterComplete: async (a) => {
      expect(await colType(a, "products", "price_cents")).toMatchObject({
        data_type: "bigint",
        is_nullable: "NO",
      });
      expect(await colType(a, "products", "price")).toBeUndefined();
    },
  },
]);
