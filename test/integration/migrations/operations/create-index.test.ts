import { expect } from "vitest";
import { describeOperation } from "./harness";

const indexdef = async (a: import("pg").Client, name: string) =>
  (await a.query("SELECT pg_get_indexdef($1::regclass) AS d", [`public.${name}`])).rows[0].d as string;

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
  {
    name: "create_index with opclass, collation, sort, NULLS order, include and storage parameters",
    operations: [
      {
        create_index: {
          name: "products_name_pattern_idx",
          table: "products",
          columns: [
            { name: "name", opclass: "text_pattern_ops", collate: "C", sort: "desc", nulls: "last" },
            { name: "price", sort: "asc", nulls: "first" },
          ],
          include: ["sku"],
          storage_parameters: { fillfactor: 70, deduplicate_items: false },
          where: "price > 0",
        },
      },
      {
        create_index: {
          name: "products_sku_uidx",
          table: "products",
          columns: ["sku"],
          unique: true,
          include: ["name"],
        },
      },
    ],
    new: async (c) => {
      await c.query("SELECT name FROM products WHERE name LIKE 'Ha%'");
      await expect(c.query("INSERT INTO products (name, sku) VALUES ('dup', 'H-1')")).rejects.toThrow(
        /duplicate/,
      );
    },
    afterRollback: async (a) => {
      expect(
        (await a.query("SELECT to_regclass('public.products_name_pattern_idx') AS i")).rows[0].i,
      ).toBeNull();
      expect((await a.query("SELECT to_regclass('public.products_sku_uidx') AS i")).rows[0].i).toBeNull();
    },
    afterComplete: async (a) => {
      expect(await indexdef(a, "products_name_pattern_idx")).toBe(
        "CREATE INDEX products_name_pattern_idx ON public.products USING btree (name COLLATE \"C\" text_pattern_ops DESC NULLS LAST, price NULLS FIRST) INCLUDE (sku) WITH (fillfactor='70', deduplicate_items='false') WHERE (price > (0)::numeric)",
      );
      expect(await indexdef(a, "products_sku_uidx")).toMatch(/UNIQUE INDEX .*\(sku\) INCLUDE \(name\)/);
    },
  },
]);
