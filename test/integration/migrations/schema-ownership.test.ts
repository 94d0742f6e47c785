/**
 * Version schema names and ownership: every service, environment and
 * migration gets a schema of its own (names carry a hash of them), the engine
 * only replaces or drops a version schema it created and marked as its own
 * (a user's schema of that name, or one marked by another owner, is left
 * alone), and schemas made under the earlier naming keep working through the
 * name each migration's row recorded.
 */
import { describe, expect, it } from "vitest";
import type { MigrationDefinition } from "../../../lib/migrations/file-format";
import { admin, engineFor, schemaOf, withDb } from "./helpers";

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

describe("version schemas: own names, and only the engine's own are replaced or dropped", () => {
  it("refuses to replace a schema of the version's name that it did not create", async () => {
    await withDb("own", async (url) => {
      const name = schemaOf("0001_init");
      await query(url, `CREATE SCHEMA ${name}; CREATE TABLE ${name}.precious (v int)`);
      await query(url, `INSERT INTO ${name}.precious VALUES (42)`);
      const engine = engineFor(url);
      try {
        await expect(engine.start(table("products"))).rejects.toThrow(/not created by the migration engine/);
      } finally {
        await engine.close();
      }
      expect(await query(url, `SELECT v FROM ${name}.precious`)).toEqual([{ v: 42 }]);
    });
  });

  it("shop_prod/eu and shop/prod_eu get a version schema each, side by side", async () => {
    await withDb("collide", async (url) => {
      // Both read shop_prod_eu_0001_init; before names carried a hash they shared that schema.
      const a = engineFor(url, { service: "shop_prod", environment: "eu" });
      const b = engineFor(url, { service: "shop", environment: "prod_eu" });
      try {
        const startedA = await a.start(table("a_items"));
        const startedB = await b.start(table("b_items"));
        expect(startedA.versionSchema).not.toBe(startedB.versionSchema);
        await a.complete("0001_init");
        await b.complete("0001_init");
        for (const [schema, items] of [
          [startedA.versionSchema, "a_items"],
          [startedB.versionSchema, "b_items"],
        ]) {
          const views = await query<{ table_name: string }>(
            url,
            `SELECT table_name FROM information_schema.views WHERE table_schema = '${schema}'`,
          );
          // Both scopes' tables live in public, which each version schema shows: the point is that
          // each has its own schema, and the first one's survived the second's start.
          expect(views.map((v) => v.table_name)).toContain(items);
        }
      } finally {
        await a.close();
        await b.close();
      }
    });
  });

  it("migrations 0002.x and 0002_x of one scope get two schemas", async () => {
    await withDb("dots", async (url) => {
      const e = engineFor(url, { service: "shop", environment: "prod" });
      try {
        const first = await e.start({ ...table("dotted"), name: "0002.x" });
        await e.complete("0002.x");
        const second = await e.start({ ...table("underscored"), name: "0002_x" });
        expect(second.versionSchema).not.toBe(first.versionSchema);
        // The first one's schema is still there (the previous version's, until contract).
        expect(second.previousVersionSchema).toBe(first.versionSchema);
      } finally {
        await e.close();
      }
    });
  });

  it("a schema of the version's name marked by another owner is not replaced", async () => {
    await withDb("marked", async (url) => {
      const name = schemaOf("0001_init");
      await query(
        url,
        `CREATE SCHEMA ${name}; COMMENT ON SCHEMA ${name} IS ` +
          `'shipshape version schema over public; owner ["other","prod","0001_init"]'`,
      );
      const engine = engineFor(url);
      try {
        await expect(engine.start(table("products"))).rejects.toThrow(/belongs to \["other"/);
      } finally {
        await engine.close();
      }
    });
  });

  it("a migration started under the earlier naming completes and rolls back with its recorded schema", async () => {
    await withDb("legacy", async (url) => {
      const legacy = "shop_0001_init"; // `<service>_<migration>`, no hash: what earlier releases made
      const e = engineFor(url);
      try {
        await e.start(table("products"));
        // Turn the started migration into one an earlier release made: its schema and its row.
        await query(url, `ALTER SCHEMA ${schemaOf("0001_init")} RENAME TO ${legacy}`);
        await query(url, `UPDATE shipshape_migrations.migrations SET version_schema = '${legacy}'`);
        await e.rollback("0001_init");
        expect(await query(url, `SELECT 1 FROM pg_namespace WHERE nspname = '${legacy}'`)).toEqual([]);

        await e.start(table("products"));
        await query(url, `ALTER SCHEMA ${schemaOf("0001_init")} RENAME TO ${legacy}`);
        await query(
          url,
          `UPDATE shipshape_migrations.migrations SET version_schema = '${legacy}' WHERE phase = 'active'`,
        );
        const done = await e.complete("0001_init");
        expect(done.versionSchema).toBe(legacy);
        const views = await query<{ table_name: string }>(
          url,
          `SELECT table_name FROM information_schema.views WHERE table_schema = '${legacy}'`,
        );
        expect(views.map((v) => v.table_name)).toEqual(["products"]);
        // The next migration starts under the new naming and keeps the legacy one as the previous version's.
        const next = await e.start({ ...table("orders"), name: "0002_orders" });
        expect(next.versionSchema).toBe(schemaOf("0002_orders"));
        expect(next.previousVersionSchema).toBe(legacy);
      } finally {
        await e.close();
      }
    });
  });
});
