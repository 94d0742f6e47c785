import { expect } from "vitest";
import { describeOperation } from "./harness";

const tableComment = async (a: import("pg").Client) =>
  (await a.query("SELECT obj_description('public.products'::regclass, 'pg_class') AS c")).rows[0].c;
const columnComment = async (a: import("pg").Client, column: string) =>
  (
    await a.query(
      `SELECT col_description('public.products'::regclass, attnum) AS c FROM pg_attribute
        WHERE attrelid = 'public.products'::regclass AND attname = $1`,
      [column],
    )
  ).rows[0]?.c;

describeOperation("set_comment", [
  {
    name: "set_comment on a table and a column",
    operations: [
      { set_comment: { table: "products", comment: "What the shop sells" } },
      { set_comment: { table: "products", column: "sku", comment: "Stock keeping unit" } },
    ],
    new: async (c) => {
      await c.query("UPDATE products SET sku = sku WHERE id = 1");
    },
    afterRollback: async (a) => {
      expect(await tableComment(a)).toBeNull();
      expect(await columnComment(a, "sku")).toBeNull();
    },
    afterComplete: async (a) => {
      expect(await tableComment(a)).toBe("What the shop sells");
      expect(await columnComment(a, "sku")).toBe("Stock keeping unit");
    },
  },
  {
    name: "set_comment on a column this migration changes (lands on the new column)",
    operations: [
      { set_comment: { table: "products", column: "description", comment: "never empty" } },
      { set_not_null: { table: "products", column: "description", up: "COALESCE(description, '')" } },
    ],
    new: async (c) => {
      await c.query("INSERT INTO products (name, description) VALUES ('New', 'described')");
    },
    afterComplete: async (a) => {
      expect(await columnComment(a, "description")).toBe("never empty");
    },
  },
  {
    name: "set_comment after the column changes, with a rename",
    operations: [
      { rename_column: { table: "products", from: "sku", to: "code" } },
      { set_comment: { table: "products", column: "code", comment: "renamed" } },
      { set_comment: { table: "products", comment: null } },
    ],
    new: async (c) => {
      await c.query("UPDATE products SET code = code WHERE id = 1");
    },
    afterComplete: async (a) => {
      expect(await columnComment(a, "code")).toBe("renamed");
      expect(await tableComment(a)).toBeNull();
    },
  },
]);
