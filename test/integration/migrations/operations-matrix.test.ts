/**
 * The per-operation matrix (real PostgreSQL), after pgroll's:
 *   start → old and new clients read and write → rollback → nothing left but
 *   put-aside data, old client unaffected → start again → complete → new
 *   client works, old objects gone.
 */
import type { Client } from "pg";
import { describe, expect, it } from "vitest";
import type { MigrationDefinition } from "../../../lib/migrations/file-format";
import { admin, engineFor, leftovers, schemaOf, withClient, withDb } from "./helpers";

const INIT: MigrationDefinition = {
  name: "0001_init",
  operations: [
    {
      create_table: {
        table: "categories",
        columns: [
          { name: "id", type: "serial", primary_key: true },
          { name: "title", type: "text", nullable: false },
        ],
      },
    },
    {
      create_table: {
        table: "products",
        columns: [
          { name: "id", type: "bigserial", primary_key: true },
          { name: "name", type: "text", nullable: false },
          { name: "price", type: "numeric(10,2)", nullable: false, default: "0", check: "price >= 0" },
          { name: "description", type: "text" },
          { name: "sku", type: "text" },
          { name: "category_id", type: "int" },
        ],
      },
    },
    { create_index: { name: "products_sku_idx", table: "products", columns: ["sku"] } },
  ],
};

const OLD = schemaOf("0001_init");
const NEW = schemaOf("0002_change");

async function seed(c: Client) {
  await c.query("INSERT INTO categories (title) VALUES ('tools'), ('toys')");
  await c.query(
    `INSERT INTO products (name, price, description, sku, category_id) VALUES
       ('Hammer', 12.50, 'heavy', 'H-1', 1), ('Saw', 20, NULL, 'S-1', 1), ('Ball', 3.99, 'round', 'B-1', 2)`,
  );
}

/** The old version's ordinary traffic: must keep working during the migration and after a rollback. */
async function oldTraffic(c: Client) {
  const r = await c.query("INSERT INTO products (name, price, sku) VALUES ('Old', 1.5, $1) RETURNING id", [
    `O-${Math.random().toString(36).slice(2, 8)}`,
  ]);
  await c.query("UPDATE products SET price = price + 1 WHERE id = $1", [r.rows[0].id]);
  const read = await c.query("SELECT name, price FROM products WHERE id = $1", [r.rows[0].id]);
  expect(read.rows[0]).toEqual({ name: "Old", price: "2.50" });
  await c.query("INSERT INTO categories (title) VALUES ('old-cat')");
}

interface Case {
  name: string;
  operations: MigrationDefinition["operations"];
  /** Old client traffic specific to this case while both versions run. */
  old?: (c: Client) => Promise<void>;
  /** New client traffic while both versions run (and after complete unless `afterCompleteNew` is set). */
  new: (c: Client) => Promise<void>;
  afterCompleteNew?: (c: Client) => Promise<void>;
  afterRollback?: (a: Client) => Promise<void>;
  afterComplete?: (a: Client) => Promise<void>;
  /** Tables the old client's generic traffic needs (false when the case drops or renames categories). */
  oldTraffic?: boolean;
}

const colType = async (a: Client, table: string, column: string) =>
  (
    await a.query(
      "SELECT data_type, is_nullable, column_default FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 AND column_name = $2",
      [table, column],
    )
  ).rows[0];

const cases: Case[] = [
  {
    name: "create_table",
    operations: [
      {
        create_table: {
          table: "reviews",
          columns: [
            { name: "id", type: "bigserial", primary_key: true },
            {
              name: "product_id",
              type: "bigint",
              nullable: false,
              references: { table: "products", column: "id" },
            },
            { name: "body", type: "text", nullable: false },
          ],
        },
      },
    ],
    old: async (c) => {
      await expect(c.query("SELECT * FROM reviews")).rejects.toThrow(/does not exist/);
    },
    new: async (c) => {
      await c.query("INSERT INTO reviews (product_id, body) SELECT min(id), 'great' FROM products");
      expect((await c.query("SELECT body FROM reviews")).rows.map((r) => r.body)).toContain("great");
    },
    afterRollback: async (a) => {
      // Green's review survives, aside, and no longer constrains products.
      const r = await a.query('SELECT body FROM public."_ss_rb2_reviews"');
      expect(r.rows).toEqual([{ body: "great" }]);
      await a.query("DELETE FROM public.products WHERE id = 1");
    },
    afterComplete: async (a) => {
      expect((await a.query("SELECT count(*)::int AS n FROM public.reviews")).rows[0].n).toBeGreaterThan(0);
    },
  },
  {
    name: "drop_table",
    operations: [{ drop_table: { table: "categories" } }],
    new: async (c) => {
      await expect(c.query("SELECT * FROM categories")).rejects.toThrow(/does not exist/);
      await c.query("INSERT INTO products (name) VALUES ('n')");
    },
    afterComplete: async (a) => {
      expect((await a.query("SELECT to_regclass('public.categories') AS t")).rows[0].t).toBeNull();
    },
  },
  {
    name: "add_column with default and NOT NULL",
    operations: [
      {
        add_column: {
          table: "products",
          column: { name: "stock", type: "int", nullable: false, default: "7" },
        },
      },
    ],
    old: async (c) => {
      await expect(c.query("SELECT stock FROM products")).rejects.toThrow(/does not exist/);
    },
    new: async (c) => {
      await c.query("DELETE FROM products WHERE name = 'withstock'");
      await c.query("INSERT INTO products (name, stock) VALUES ('withstock', 5)");
      const r = await c.query(
        "SELECT name, stock FROM products WHERE name IN ('Hammer', 'withstock') ORDER BY name",
      );
      expect(r.rows).toEqual([
        { name: "Hammer", stock: 7 },
        { name: "withstock", stock: 5 },
      ]);
    },
    afterRollback: async (a) => {
      const r = await a.query(`SELECT "_ss_rb2_stock" AS s FROM public.products WHERE name = 'withstock'`);
      expect(r.rows).toEqual([{ s: 5 }]);
    },
    afterComplete: async (a) => {
      expect(await colType(a, "products", "stock")).toMatchObject({ is_nullable: "NO", column_default: "7" });
    },
  },
  {
    name: "add_column NOT NULL computed by up",
    operations: [
      {
        add_column: {
          table: "products",
          column: { name: "slug", type: "text", nullable: false, up: "lower(name)" },
        },
      },
    ],
    old: async (c) => {
      await c.query("INSERT INTO products (name) VALUES ('From Old')");
    },
    new: async (c) => {
      const r = await c.query("SELECT slug FROM products WHERE name IN ('Hammer', 'From Old') ORDER BY id");
      expect(r.rows.map((x) => x.slug)).toContain("hammer");
      expect(r.rows.map((x) => x.slug)).toContain("from old");
      await c.query("DELETE FROM products WHERE name = 'X'");
      await c.query("INSERT INTO products (name, slug) VALUES ('X', 'custom')");
      expect((await c.query("SELECT slug FROM products WHERE name = 'X'")).rows[0].slug).toBe("custom");
      await expect(c.query("SELECT count(*) FROM products WHERE slug IS NULL")).resolves.toMatchObject({
        rows: [{ count: "0" }],
      });
    },
    afterComplete: async (a) => {
      expect(await colType(a, "products", "slug")).toMatchObject({ is_nullable: "NO" });
    },
  },
  {
    name: "add_column unique + check + foreign key",
    operations: [
      {
        add_column: {
          table: "products",
          column: { name: "code", type: "text", unique: true, check: "length(code) > 2" },
        },
      },
      {
        add_column: {
          table: "products",
          column: { name: "alt_category", type: "int", references: { table: "categories", column: "id" } },
        },
      },
    ],
    new: async (c) => {
      await c.query("UPDATE products SET code = 'abc', alt_category = 2 WHERE id = 1");
      await expect(c.query("UPDATE products SET code = 'abc' WHERE id = 2")).rejects.toThrow(/duplicate key/);
      await expect(c.query("UPDATE products SET code = 'x' WHERE id = 2")).rejects.toThrow(
        /check constraint/,
      );
      await expect(c.query("UPDATE products SET alt_category = 99 WHERE id = 2")).rejects.toThrow(
        /foreign key/,
      );
    },
    afterRollback: async (a) => {
      const r = await a.query(`SELECT "_ss_rb2_code" AS code FROM public.products WHERE id = 1`);
      expect(r.rows).toEqual([{ code: "abc" }]);
      // The put-aside column no longer constrains the old version.
      await a.query(`UPDATE public.products SET "_ss_rb2_code" = 'abc' WHERE id = 2`);
      await a.query(
        "DELETE FROM public.categories WHERE id = 2 AND NOT EXISTS (SELECT 1 FROM public.products WHERE category_id = 2)",
      );
    },
    afterComplete: async (a) => {
      const cons = await a.query(
        "SELECT conname, convalidated FROM pg_constraint WHERE conrelid = 'public.products'::regclass ORDER BY 1",
      );
      expect(cons.rows).toEqual(
        expect.arrayContaining([
          { conname: "products_code_key", convalidated: true },
          { conname: "products_code_check", convalidated: true },
          { conname: "products_alt_category_fkey", convalidated: true },
        ]),
      );
    },
  },
  {
    name: "drop_column",
    operations: [{ drop_column: { table: "products", column: "description" } }],
    old: async (c) => {
      await c.query("UPDATE products SET description = 'still here' WHERE id = 1");
    },
    new: async (c) => {
      await expect(c.query("SELECT description FROM products")).rejects.toThrow(/does not exist/);
      await c.query("INSERT INTO products (name) VALUES ('nodesc')");
    },
    afterRollback: async (a) => {
      expect(
        (await a.query("SELECT description FROM public.products WHERE id = 1")).rows[0].description,
      ).toBe("still here");
    },
    afterComplete: async (a) => {
      expect(await colType(a, "products", "description")).toBeUndefined();
    },
  },
  {
    name: "drop_column NOT NULL with down",
    operations: [
      { drop_column: { table: "products", column: "name", down: "'sku:' || coalesce(sku, '?')" } },
    ],
    old: async (c) => {
      await c.query("INSERT INTO products (name) VALUES ('old-named')");
    },
    new: async (c) => {
      await c.query("INSERT INTO products (sku) VALUES ('N-9')");
    },
    afterRollback: async (a) => {
      const r = await a.query("SELECT name FROM public.products WHERE sku = 'N-9'");
      expect(r.rows[0].name).toBe("sku:N-9");
    },
    afterComplete: async (a) => {
      expect(await colType(a, "products", "name")).toBeUndefined();
    },
  },
  {
    name: "rename_column",
    operations: [{ rename_column: { table: "products", from: "name", to: "title" } }],
    old: async (c) => {
      await c.query("UPDATE products SET name = 'Hammer v2' WHERE id = 1");
    },
    new: async (c) => {
      expect((await c.query("SELECT title FROM products WHERE id = 1")).rows[0].title).toMatch(/^Hammer/);
      await c.query("INSERT INTO products (title) VALUES ('new-title')");
      await c.query("UPDATE products SET title = 'Saw v2' WHERE id = 2");
    },
    afterRollback: async (a) => {
      expect((await a.query("SELECT name FROM public.products WHERE id = 2")).rows[0].name).toBe("Saw v2");
    },
    afterComplete: async (a) => {
      expect(await colType(a, "products", "title")).toBeDefined();
      expect(await colType(a, "products", "name")).toBeUndefined();
    },
  },
  {
    name: "rename_table",
    operations: [{ rename_table: { from: "categories", to: "groups" } }],
    new: async (c) => {
      await c.query("INSERT INTO groups (title) VALUES ('via-new')");
      expect((await c.query("SELECT count(*)::int AS n FROM groups")).rows[0].n).toBeGreaterThanOrEqual(3);
    },
    afterComplete: async (a) => {
      expect((await a.query("SELECT to_regclass('public.groups') IS NOT NULL AS ok")).rows[0].ok).toBe(true);
      expect((await a.query("SELECT to_regclass('public.categories') AS t")).rows[0].t).toBeNull();
    },
  },
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
  {
    name: "set_not_null",
    operations: [
      { set_not_null: { table: "products", column: "description", up: "coalesce(description, '(none)')" } },
    ],
    old: async (c) => {
      await c.query("INSERT INTO products (name, description) VALUES ('nulldesc', NULL)");
    },
    new: async (c) => {
      const r = await c.query("SELECT DISTINCT description FROM products WHERE name = 'nulldesc'");
      expect(r.rows.map((x) => x.description)).toEqual(["(none)"]);
      await c.query("UPDATE products SET description = 'sharp' WHERE name = 'Saw'");
    },
    afterRollback: async (a) => {
      const r = await a.query(
        "SELECT DISTINCT name, description FROM public.products WHERE name IN ('Saw', 'nulldesc') ORDER BY name",
      );
      expect(r.rows).toEqual([
        { name: "Saw", description: "sharp" },
        { name: "nulldesc", description: null },
      ]);
    },
    afterComplete: async (a) => {
      expect(await colType(a, "products", "description")).toMatchObject({ is_nullable: "NO" });
    },
  },
  {
    name: "drop_not_null",
    operations: [{ drop_not_null: { table: "products", column: "name", down: "coalesce(name, 'unnamed')" } }],
    new: async (c) => {
      await c.query("DELETE FROM products WHERE sku = 'NN-1'");
      await c.query("INSERT INTO products (name, sku) VALUES (NULL, 'NN-1')");
      expect((await c.query("SELECT name FROM products WHERE sku = 'NN-1'")).rows[0].name).toBeNull();
    },
    old: async (c) => {
      await c.query("INSERT INTO products (name, sku) VALUES ('named', 'NN-2')");
    },
    afterRollback: async (a) => {
      expect((await a.query("SELECT name FROM public.products WHERE sku = 'NN-1'")).rows[0].name).toBe(
        "unnamed",
      );
    },
    afterComplete: async (a) => {
      expect(await colType(a, "products", "name")).toMatchObject({ is_nullable: "YES" });
    },
  },
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
  {
    name: "raw_sql",
    operations: [
      {
        raw_sql: {
          start: "CREATE TABLE audit (id bigserial PRIMARY KEY, msg text NOT NULL)",
          complete: "COMMENT ON TABLE audit IS 'contracted'",
          rollback: "ALTER TABLE audit RENAME TO _ss_rb_audit_manual",
        },
      },
    ],
    new: async (c) => {
      await c.query("INSERT INTO audit (msg) VALUES ('hello')");
    },
    afterRollback: async (a) => {
      expect((await a.query("SELECT msg FROM public._ss_rb_audit_manual")).rows).toEqual([{ msg: "hello" }]);
      await a.query("DROP TABLE public._ss_rb_audit_manual");
    },
    afterComplete: async (a) => {
      expect((await a.query("SELECT obj_description('public.audit'::regclass) AS c")).rows[0].c).toBe(
        "contracted",
      );
    },
  },
];

describe("every operation: start → both versions → rollback → start → complete", () => {
  it.each(cases)("$name", async (tc) => {
    await withDb("mx", async (url) => {
      const engine = engineFor(url);
      try {
        await engine.start(INIT);
        await engine.complete("0001_init");
        await withClient(url, OLD, seed);
        const migration: MigrationDefinition = { name: "0002_change", operations: tc.operations };

        // 1. start; both versions work side by side.
        const started = await engine.start(migration);
        expect(started.phase).toBe("active");
        expect(started.versionSchema).toBe(NEW);
        await withClient(url, OLD, async (c) => {
          if (tc.oldTraffic !== false && tc.name !== "drop_table" && tc.name !== "rename_table")
            await oldTraffic(c);
          await tc.old?.(c);
        });
        await withClient(url, NEW, tc.new);
        const v = await engine.verify();
        expect(v.checks.filter((c) => !c.ok)).toEqual([]);

        // 2. rollback: nothing left but put-aside data; the old version is unaffected.
        const rolled = await engine.rollback("0002_change");
        expect(rolled.phase).toBe("rolled_back");
        const a = await admin(url);
        try {
          await tc.afterRollback?.(a);
        } finally {
          await a.end();
        }
        const left = await leftovers(url);
        expect(left.triggers).toEqual([]);
        expect(left.functions).toEqual([]);
        expect(left.unrecordedInternal).toEqual([]);
        expect(left.invalidIndexes).toEqual([]);
        expect(left.versionSchemas).toEqual([OLD]);
        await withClient(url, OLD, async (c) => {
          await oldTraffic(c);
          await tc.old?.(c);
        });

        // 3. start again and complete: the new version works, the old objects are gone.
        await engine.start(migration);
        await withClient(url, NEW, tc.new);
        const done = await engine.complete("0002_change");
        expect(done.phase).toBe("completed");
        const after = await leftovers(url);
        expect(after.versionSchemas).toEqual([NEW]);
        expect(after.triggers).toEqual([]);
        expect(after.functions).toEqual([]);
        expect(after.unrecordedInternal).toEqual([]);
        expect(after.aside.filter((x) => x.includes("_ss_new_"))).toEqual([]);
        await withClient(url, NEW, tc.afterCompleteNew ?? tc.new);
        const b = await admin(url);
        try {
          await tc.afterComplete?.(b);
        } finally {
          await b.end();
        }
        // Rerunning any command is a no-op.
        expect((await engine.complete("0002_change")).alreadyDone).toBe(true);
        expect((await engine.start(migration)).alreadyDone).toBe(true);
      } finally {
        await engine.close();
      }
    });
  });
});
