import { expect } from "vitest";
import { describeOperation } from "./harness";

describeOperation("add_constraint", [
  {
    name: "add_constraint unique",
    operations: [
      { add_constraint: { type: "unique", table: "products", name: "products_sku_key", columns: ["sku"] } },
    ],
    new: async (c) => {
      await expect(c.query("INSERT INTO products (name, sku) VALUES ('dup', 'H-1')")).rejects.toThrow(
        /duplicate/,
      );
    },
    afterComplete: async (a) => {
      const r = await a.query("SELECT contype FROM pg_constraint WHERE conname = 'products_sku_key'");
      expect(r.rows).toEqual([{ contype: "u" }]);
    },
  },
  {
    name: "add_constraint foreign_key",
    operations: [
      {
        add_constraint: {
          type: "foreign_key",
          table: "products",
          name: "products_category_fk",
          columns: ["category_id"],
          references: { table: "categories", columns: ["id"] },
        },
      },
    ],
    new: async (c) => {
      await expect(c.query("UPDATE products SET category_id = 42 WHERE id = 1")).rejects.toThrow(
        /foreign key/,
      );
    },
    afterComplete: async (a) => {
      const r = await a.query(
        "SELECT convalidated FROM pg_constraint WHERE conname = 'products_category_fk'",
      );
      expect(r.rows).toEqual([{ convalidated: true }]);
    },
  },
  {
    name: "add_constraint check",
    operations: [
      {
        add_constraint: {
          type: "check",
          table: "products",
          name: "products_name_len",
          check: "length(name) < 50",
        },
      },
    ],
    new: async (c) => {
      await expect(c.query("INSERT INTO products (name) VALUES (repeat('x', 60))")).rejects.toThrow(/check/);
    },
    afterComplete: async (a) => {
      const r = await a.query("SELECT convalidated FROM pg_constraint WHERE conname = 'products_name_len'");
      expect(r.rows).toEqual([{ convalidated: true }]);
    },
  },
]);
