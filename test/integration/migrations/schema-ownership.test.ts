/**
 * Issue 16, item 3 (the engine's part): the engine only replaces or drops a
 * version schema it created and marked as its own. A schema that merely has
 * the same name (a user's schema, the engine's state schema, or another
 * service's version schema whose name collides) is left alone.
 */
import { describe, expect, it } from "vitest";
import type { MigrationDefinition } from "../../../lib/migrations/file-format";
import { admin, engineFor, withDb } from "./helpers";

const table = (name: string): MigrationDefinition => ({
  name: "0001_init",
  operations: [
    { create_table: { table: name, columns: [{ name: "id", type: "bigserial", primary_key: true }] } },
  ],
});

async function query<T>(url: string, sql: string): Promise<T[]> {
  const a = await admin(url);
  try {
    return (await a.query(sql)).rows as T[];
  } finally {
    await a.end();
  }
}

describe("the engine only drops schemas it created and marked (issue 16)", () => {
  it("refuses to replace a schema of the version's name that it did not create", async () => {
    await withDb("own", async (url) => {
      await query(url, "CREATE SCHEMA shop_0001_init; CREATE TABLE shop_0001_init.precious (v int)");
      await query(url, "INSERT INTO shop_0001_init.precious VALUES (42)");
      const engine = engineFor(url);
      try {
        await expect(engine.start(table("products"))).rejects.toThrow(/not created by the migration engine/);
      } finally {
        await engine.close();
      }
      expect(await query(url, "SELECT v FROM shop_0001_init.precious")).toEqual([{ v: 42 }]);
    });
  });

  it("two scopes whose version schema names collide do not replace each other's views", async () => {
    await withDb("collide", async (url) => {
      // shop_prod/eu and shop/prod_eu both map to the prefix shop_prod_eu.
      const a = engineFor(url, { service: "shop_prod", environment: "eu" });
      const b = engineFor(url, { service: "shop", environment: "prod_eu" });
      try {
        const started = await a.start(table("a_items"));
        await a.complete("0001_init");
        await expect(b.start(table("b_items"))).rejects.toThrow(/belongs to/);
        const views = await query<{ table_name: string }>(
          url,
          `SELECT table_name FROM information_schema.views WHERE table_schema = '${started.versionSchema}'`,
        );
        expect(views.map((v) => v.table_name)).toEqual(["a_items"]);
      } finally {
        await a.close();
        await b.close();
      }
    });
  });
});
