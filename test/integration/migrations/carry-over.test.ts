/**
 * Shadowing a column (change_type, set_not_null, drop_not_null) carries the
 * column's constraints and indexes over to the new column: built beside the
 * originals at start, swapped in under their original names at complete, and
 * the originals untouched by a rollback. A migration that repeats one of
 * them is refused at start, before anything is recorded.
 */
import path from "node:path";
import type { Client } from "pg";
import { describe, expect, it } from "vitest";
import { loadMigrationFile, type MigrationDefinition } from "../../../lib/migrations/file-format";
import { admin, applied, engineFor, schemaOf, withClient, withDb } from "./helpers";

const ISSUE = path.join(__dirname, "../../fixtures/migrations/issue");
const load = (file: string) => loadMigrationFile(path.join(ISSUE, file));
const ITEMS = load("01_items.yaml");

/** A table whose foreign key references items.code. */
const TAGS = {
  create_table: {
    table: "tags",
    columns: [
      { name: "id", type: "bigserial", primary_key: true },
      { name: "item_code", type: "text", references: { table: "items", column: "code" } },
    ],
  },
};

/** products.code with a unique constraint, a check, an expression index and a composite index; category_id a foreign key. */
const SHOP: MigrationDefinition = {
  name: "01_init",
  operations: [
    {
      create_table: {
        table: "categories",
        columns: [
          { name: "id", type: "serial", primary_key: true },
          { name: "name", type: "text" },
        ],
      },
    },
    {
      create_table: {
        table: "products",
        columns: [
          { name: "id", type: "bigserial", primary_key: true },
          { name: "code", type: "text" },
          { name: "category_id", type: "int", references: { table: "categories", column: "id" } },
        ],
      },
    },
    { add_constraint: { type: "unique", table: "products", name: "products_code_key", columns: ["code"] } },
    {
      add_constraint: {
        type: "check",
        table: "products",
        name: "products_code_len",
        check: "length(code) BETWEEN 1 AND 20",
      },
    },
    { create_index: { name: "products_code_cat", table: "products", columns: ["code", "category_id"] } },
    {
      raw_sql: {
        start: "CREATE UNIQUE INDEX products_code_lower ON products (lower(code)) WHERE code <> 'x'",
        complete: "",
        rollback: "DROP INDEX products_code_lower",
      },
    },
  ],
};

/** SHOP applied and seeded; returns the shape of products. */
async function shop(url: string): Promise<Shape> {
  await applied(url, SHOP);
  await withClient(url, schemaOf("01_init"), async (c) => {
    await c.query("INSERT INTO categories (name) VALUES ('tools'), ('toys')");
    await c.query("INSERT INTO products (code, category_id) VALUES ('h-1', 1), ('s-1', 1), ('b-1', 2)");
  });
  const shape = await withAdmin(url, (a) => shapeOf(a, "products"));
  expect(shape.constraints.map((c) => c.name)).toEqual([
    "products_category_id_fkey",
    "products_code_key",
    "products_code_len",
    "products_pkey",
  ]);
  expect(shape.indexes.map((i) => i.name)).toEqual([
    "products_code_cat",
    "products_code_key",
    "products_code_lower",
    "products_pkey",
  ]);
  return shape;
}

const changeType = (name: string, column: string, type: string): MigrationDefinition => ({
  name,
  operations: [{ change_type: { table: "products", column, type, up: column, down: column } }],
});

interface Shape {
  constraints: Array<{ name: string; type: string; def: string; validated: boolean }>;
  indexes: Array<{ name: string; def: string }>;
}

/** Constraints and indexes of a table, in a stable order. */
async function shapeOf(a: Client, table: string): Promise<Shape> {
  const constraints = await a.query(
    `SELECT conname AS name, contype AS type, pg_get_constraintdef(oid) AS def, convalidated AS validated
       FROM pg_constraint WHERE conrelid = ('public.' || $1)::regclass ORDER BY conname`,
    [table],
  );
  const indexes = await a.query(
    "SELECT indexname AS name, indexdef AS def FROM pg_indexes WHERE schemaname = 'public' AND tablename = $1 ORDER BY 1",
    [table],
  );
  return { constraints: constraints.rows, indexes: indexes.rows };
}

async function withAdmin<T>(url: string, fn: (a: Client) => Promise<T>): Promise<T> {
  const a = await admin(url);
  try {
    return await fn(a);
  } finally {
    await a.end();
  }
}

describe("constraints and indexes of a shadowed column", () => {
  it("set_not_null keeps items_code_uq; repeating it is refused at start with nothing recorded", async () => {
    await withDb("carry", async (url) => {
      const e = engineFor(url);
      try {
        await applied(url, ITEMS);
        await withClient(url, schemaOf("01_items"), (c) =>
          c.query("INSERT INTO items (code) VALUES ('a'), (NULL)"),
        );
        const before = await withAdmin(url, (a) => shapeOf(a, "items"));
        expect(before.constraints.map((c) => c.name)).toEqual(["items_code_uq", "items_pkey"]);

        await expect(e.start(load("02_code_not_null.yaml"))).rejects.toMatchObject({
          code: "VALIDATION",
          message: expect.stringMatching(
            /items_code_uq .*already exists.*covers items\.code, which set_not_null items\.code shadows.*carried over.*automatically/,
          ),
        });
        expect((await e.status()).active).toBeNull();

        const second = load("02_code_not_null_only.yaml");
        await e.start(second);
        expect((await e.verify()).checks.filter((c) => !c.ok)).toEqual([]);
        await e.rollback(second.name);
        expect(await withAdmin(url, (a) => shapeOf(a, "items"))).toEqual(before);

        await e.start(second);
        await withClient(url, schemaOf("02_code_not_null"), async (c) => {
          await expect(c.query("INSERT INTO items (code) VALUES ('a')")).rejects.toThrow(/items_code_uq/);
        });
        expect((await e.complete(second.name)).phase).toBe("completed");
        expect(await withAdmin(url, (a) => shapeOf(a, "items"))).toEqual(before);
        await withClient(url, schemaOf("02_code_not_null"), async (c) => {
          expect((await c.query("SELECT code FROM items ORDER BY id")).rows).toEqual([
            { code: "a" },
            { code: "none-2" },
          ]);
          await expect(c.query("INSERT INTO items (code) VALUES ('a')")).rejects.toThrow(
            /duplicate key value violates unique constraint "items_code_uq"/,
          );
        });
      } finally {
        await e.close();
      }
    });
  });

  it("change_type carries a unique constraint, an expression index, a check and a composite index", async () => {
    await withDb("carry", async (url) => {
      const e = engineFor(url);
      try {
        const before = await shop(url);
        const code = changeType("02_code_varchar", "code", "varchar(32)");
        await e.start(code);
        expect((await e.verify()).checks.filter((c) => !c.ok)).toEqual([]);
        await withClient(url, schemaOf("02_code_varchar"), async (c) => {
          for (const dup of ["h-1", "H-1"]) {
            await expect(c.query("INSERT INTO products (code) VALUES ($1)", [dup])).rejects.toThrow(
              /duplicate key/,
            );
          }
          await expect(c.query("INSERT INTO products (code) VALUES ('')")).rejects.toThrow(
            /check constraint/,
          );
        });
        await e.rollback(code.name);
        expect(await withAdmin(url, (a) => shapeOf(a, "products"))).toEqual(before);

        await e.start(code);
        await e.complete(code.name);
        const after = await withAdmin(url, (a) => shapeOf(a, "products"));
        expect(after.indexes.map((i) => i.name)).toEqual(before.indexes.map((i) => i.name));
        expect(after.constraints.map((c) => [c.name, c.type, c.validated])).toEqual(
          before.constraints.map((c) => [c.name, c.type, c.validated]),
        );
        expect(after.constraints.find((c) => c.name === "products_code_len")?.def).toBe(
          "CHECK (((length((code)::text) >= 1) AND (length((code)::text) <= 20)))",
        );
        expect(after.indexes.find((i) => i.name === "products_code_lower")?.def).toBe(
          "CREATE UNIQUE INDEX products_code_lower ON public.products USING btree (lower((code)::text)) WHERE ((code)::text <> 'x'::text)",
        );
        expect(after.indexes.find((i) => i.name === "products_code_cat")?.def).toBe(
          "CREATE INDEX products_code_cat ON public.products USING btree (code, category_id)",
        );
      } finally {
        await e.close();
      }
    });
  });

  it("change_type carries a foreign key and a composite index", async () => {
    await withDb("carry", async (url) => {
      const e = engineFor(url);
      try {
        const before = await shop(url);
        const category = changeType("02_category_bigint", "category_id", "bigint");
        await e.start(category);
        expect((await e.verify()).checks.filter((c) => !c.ok)).toEqual([]);
        await withClient(url, schemaOf("02_category_bigint"), async (c) => {
          await expect(
            c.query("INSERT INTO products (code, category_id) VALUES ('n-1', 99)"),
          ).rejects.toThrow(/foreign key/);
        });
        await e.complete(category.name);
        expect(await withAdmin(url, (a) => shapeOf(a, "products"))).toEqual(before);
        await withClient(url, schemaOf("02_category_bigint"), async (c) => {
          await expect(
            c.query("INSERT INTO products (code, category_id) VALUES ('n-1', 99)"),
          ).rejects.toThrow(/violates foreign key constraint "products_category_id_fkey"/);
          await expect(c.query("DELETE FROM categories WHERE id = 1")).rejects.toThrow(/foreign key/);
        });
      } finally {
        await e.close();
      }
    });
  });

  it("refuses, at start, to shadow a primary key or a column other tables reference", async () => {
    await withDb("carry", async (url) => {
      const e = engineFor(url);
      try {
        await applied(url, ITEMS, { name: "02_refs", operations: [TAGS] });
        await expect(
          e.start({
            name: "03_id_numeric",
            operations: [
              { change_type: { table: "items", column: "id", type: "numeric", up: "id", down: "id" } },
            ],
          }),
        ).rejects.toMatchObject({
          code: "VALIDATION",
          message: expect.stringMatching(/primary key items_pkey/),
        });
        await expect(
          e.start({
            name: "03_code_varchar",
            operations: [
              {
                change_type: {
                  table: "items",
                  column: "code",
                  type: "varchar(10)",
                  up: "code",
                  down: "code",
                },
              },
            ],
          }),
        ).rejects.toMatchObject({
          code: "VALIDATION",
          message: expect.stringMatching(/tags_item_code_fkey on tags references items\.code/),
        });
        expect((await e.status()).active).toBeNull();
      } finally {
        await e.close();
      }
    });
  });

  it("refuses, when complete validates, a reference the same migration added to the shadowed column", async () => {
    await withDb("carry", async (url) => {
      const e = engineFor(url);
      try {
        await applied(url, ITEMS);
        const both: MigrationDefinition = {
          name: "02_tags_and_code",
          operations: [
            TAGS,
            {
              change_type: { table: "items", column: "code", type: "varchar(10)", up: "code", down: "code" },
            },
          ],
        };
        await e.start(both);
        await expect(e.complete(both.name)).rejects.toMatchObject({
          code: "VALIDATION",
          message: expect.stringMatching(/tags_item_code_fkey on tags references items\.code/),
        });
        expect((await e.status()).active).toMatchObject({ phase: "active", canRollBack: true });
        expect((await e.rollback(both.name)).phase).toBe("rolled_back");
      } finally {
        await e.close();
      }
    });
  });
});
