import { expect } from "vitest";
import { describeOperation } from "./harness";

const names = async (a: import("pg").Client) =>
  (
    await a.query(
      "SELECT conname FROM pg_constraint WHERE conrelid = 'public.products'::regclass ORDER BY conname",
    )
  ).rows.map((r) => r.conname);

describeOperation("rename_constraint", [
  {
    name: "rename_constraint check and primary key",
    operations: [
      { rename_constraint: { table: "products", from: "products_price_check", to: "price_not_negative" } },
      { rename_constraint: { table: "products", from: "products_pkey", to: "products_pk" } },
    ],
    old: async (c) => {
      await expect(c.query("INSERT INTO products (name, price) VALUES ('neg', -1)")).rejects.toThrow(
        /products_price_check/,
      );
    },
    new: async (c) => {
      await expect(c.query("INSERT INTO products (name, price) VALUES ('neg', -1)")).rejects.toThrow(
        /products_price_check|price_not_negative/,
      );
    },
    afterCompleteNew: async (c) => {
      await expect(c.query("INSERT INTO products (name, price) VALUES ('neg', -1)")).rejects.toThrow(
        /price_not_negative/,
      );
    },
    afterRollback: async (a) => {
      expect(await names(a)).toEqual(["products_pkey", "products_price_check"]);
    },
    afterComplete: async (a) => {
      expect(await names(a)).toEqual(["price_not_negative", "products_pk"]);
      // The primary key's index follows the constraint.
      expect((await a.query("SELECT to_regclass('public.products_pk') IS NOT NULL AS ok")).rows[0].ok).toBe(
        true,
      );
    },
  },
]);
