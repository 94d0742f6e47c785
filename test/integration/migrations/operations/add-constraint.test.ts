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
  {
    name: "add_constraint foreign_key ON UPDATE, MATCH FULL, DEFERRABLE",
    operations: [
      {
        add_constraint: {
          type: "foreign_key",
          table: "products",
          name: "products_category_fk",
          columns: ["category_id"],
          references: { table: "categories", columns: ["id"] },
          on_update: "CASCADE",
          match: "full",
          deferrable: true,
        },
      },
    ],
    new: async (c) => {
      const r = await c.query("UPDATE categories SET id = id + 100 WHERE title = 'tools' RETURNING id");
      const p = await c.query("SELECT DISTINCT category_id FROM products WHERE name IN ('Hammer', 'Saw')");
      expect(p.rows).toEqual([{ category_id: r.rows[0].id }]);
    },
    afterComplete: async (a) => {
      const r = await a.query(
        "SELECT convalidated, confupdtype, confmatchtype, condeferrable, condeferred FROM pg_constraint WHERE conname = 'products_category_fk'",
      );
      expect(r.rows).toEqual([
        { convalidated: true, confupdtype: "c", confmatchtype: "f", condeferrable: true, condeferred: false },
      ]);
    },
  },
  {
    name: "add_constraint unique with include",
    operations: [
      {
        add_constraint: {
          type: "unique",
          table: "products",
          name: "products_sku_key",
          columns: ["sku"],
          include: ["name"],
        },
      },
    ],
    new: async (c) => {
      await expect(c.query("INSERT INTO products (name, sku) VALUES ('dup', 'H-1')")).rejects.toThrow(
        /duplicate/,
      );
    },
    afterComplete: async (a) => {
      const r = await a.query(
        `SELECT co.contype, pg_get_indexdef(co.conindid) AS def FROM pg_constraint co WHERE conname = 'products_sku_key'`,
      );
      expect(r.rows[0].contype).toBe("u");
      expect(r.rows[0].def).toMatch(/\(sku\) INCLUDE \(name\)/);
    },
  },
  {
    name: "add_constraint primary_key on a table without one (nullable column)",
    operations: [
      {
        create_table: {
          table: "tags",
          columns: [
            { name: "code", type: "text" },
            { name: "label", type: "text" },
          ],
        },
      },
      {
        add_constraint: {
          type: "primary_key",
          table: "tags",
          name: "tags_pk",
          columns: ["code"],
          include: ["label"],
        },
      },
    ],
    new: async (c) => {
      const code = `t-${Math.random().toString(36).slice(2, 8)}`;
      await c.query("INSERT INTO tags (code, label) VALUES ($1, 'x')", [code]);
      await expect(c.query("INSERT INTO tags (code, label) VALUES ($1, 'y')", [code])).rejects.toThrow(
        /duplicate/,
      );
      // NULL is refused from start on (the NOT VALID check), not only after complete.
      await expect(c.query("INSERT INTO tags (code) VALUES (NULL)")).rejects.toThrow();
    },
    afterRollback: async (a) => {
      expect((await a.query("SELECT to_regclass('public.tags_pk') AS i")).rows[0].i).toBeNull();
    },
    afterComplete: async (a) => {
      const r = await a.query(
        "SELECT contype, pg_get_indexdef(conindid) AS def FROM pg_constraint WHERE conname = 'tags_pk'",
      );
      expect(r.rows[0].contype).toBe("p");
      expect(r.rows[0].def).toMatch(/\(code\) INCLUDE \(label\)/);
      const nn = await a.query(
        "SELECT attnotnull FROM pg_attribute WHERE attrelid = 'public.tags'::regclass AND attname = 'code'",
      );
      expect(nn.rows[0].attnotnull).toBe(true);
      const leftover = await a.query(
        "SELECT conname FROM pg_constraint WHERE conrelid = 'public.tags'::regclass AND conname LIKE '\\_ss\\_%'",
      );
      expect(leftover.rows).toEqual([]);
    },
  },
  {
    name: "add_constraint exclude (btree, with a predicate)",
    operations: [
      {
        add_constraint: {
          type: "exclude",
          table: "products",
          name: "products_one_name_per_category",
          using: "btree",
          elements: [
            { column: "category_id", operator: "=" },
            { expression: "lower(name)", operator: "=" },
          ],
          where: "category_id IS NOT NULL",
        },
      },
    ],
    old: async (c) => {
      // Enforced for both versions from start; after a rollback, gone.
      const active = (
        await c.query("SELECT to_regclass('public.products_one_name_per_category') IS NOT NULL AS a")
      ).rows[0].a;
      const insert = c.query("INSERT INTO products (name, category_id) VALUES ('HAMMER', 1) RETURNING id");
      if (active) {
        await expect(insert).rejects.toThrow(/exclusion/);
      } else {
        await c.query("DELETE FROM products WHERE id = $1", [(await insert).rows[0].id]);
      }
    },
    new: async (c) => {
      await expect(c.query("INSERT INTO products (name, category_id) VALUES ('hammer', 1)")).rejects.toThrow(
        /exclusion/,
      );
      const r = await c.query("INSERT INTO products (name) VALUES ('hammer') RETURNING id");
      await c.query("DELETE FROM products WHERE id = $1", [r.rows[0].id]);
    },
    afterRollback: async (a) => {
      expect(
        (await a.query("SELECT to_regclass('public.products_one_name_per_category') AS i")).rows[0].i,
      ).toBeNull();
    },
    afterComplete: async (a) => {
      const r = await a.query(
        "SELECT contype FROM pg_constraint WHERE conname = 'products_one_name_per_category'",
      );
      expect(r.rows).toEqual([{ contype: "x" }]);
    },
  },
]);
