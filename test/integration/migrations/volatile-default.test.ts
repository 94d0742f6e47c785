/**
 * add_column with a volatile default (random(), gen_random_uuid()): adding it
 * with the default in one statement makes PostgreSQL rewrite the whole table
 * under ACCESS EXCLUSIVE. The engine adds it bare, fills it through the
 * backfill (one value per row, as PostgreSQL would), and sets the default on
 * complete: the table's relfilenode never changes.
 */
import type { Client } from "pg";
import { describe, expect, it } from "vitest";
import type { MigrationDefinition } from "../../../lib/migrations/file-format";
import { seededShop } from "./fixtures/shop";
import { admin, engineFor, leftovers, schemaOf, withClient, withDb } from "./helpers";

const VOLATILE: MigrationDefinition = {
  name: "0002_volatile",
  operations: [
    {
      add_column: {
        table: "products",
        column: { name: "score", type: "int", nullable: false, default: "(random() * 1000000)::int" },
      },
    },
    {
      add_column: { table: "products", column: { name: "uid", type: "uuid", default: "gen_random_uuid()" } },
    },
  ],
};

const relfilenode = async (a: Client) =>
  (await a.query("SELECT relfilenode FROM pg_class WHERE oid = 'public.products'::regclass")).rows[0]
    .relfilenode as number;

describe("add_column with a volatile default", () => {
  it("adds the column without rewriting the table, one value per row, default set on complete", async () => {
    await withDb("vol", async (url) => {
      const e = engineFor(url);
      const a = await admin(url);
      try {
        await seededShop(url, 50);
        const before = await relfilenode(a);

        const started = await e.start(VOLATILE);
        expect(started.backfill.map((b) => [b.rowsDone, b.done])).toEqual([
          [50, true],
          [50, true],
        ]);
        // Both versions insert while the default lives on the new version's view only.
        await withClient(url, schemaOf("0001_init"), (c) =>
          c.query("INSERT INTO products (name) VALUES ('old')"),
        );
        await withClient(url, schemaOf("0002_volatile"), (c) =>
          c.query("INSERT INTO products (name) VALUES ('new')"),
        );
        const during = await a.query(
          "SELECT column_name, column_default FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'products' AND column_name IN ('score', 'uid') ORDER BY 1",
        );
        expect(during.rows).toEqual([
          { column_name: "score", column_default: null },
          { column_name: "uid", column_default: null },
        ]);
        expect((await e.verify()).checks.filter((c) => !c.ok)).toEqual([]);
        await e.complete(VOLATILE.name);

        expect(await relfilenode(a)).toBe(before);
        const filled = await a.query(
          `SELECT count(*)::int AS n, count(score)::int AS scores, count(DISTINCT score)::int AS distinct_scores,
                  count(uid)::int AS uids, count(DISTINCT uid)::int AS distinct_uids FROM products`,
        );
        expect(filled.rows[0]).toMatchObject({ n: 52, scores: 52, uids: 52, distinct_uids: 52 });
        expect(filled.rows[0].distinct_scores).toBeGreaterThan(40);
        const after = await a.query(
          "SELECT column_name, column_default, is_nullable FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'products' AND column_name IN ('score', 'uid') ORDER BY 1",
        );
        expect(after.rows).toEqual([
          {
            column_name: "score",
            column_default: "((random() * (1000000)::double precision))::integer",
            is_nullable: "NO",
          },
          { column_name: "uid", column_default: "gen_random_uuid()", is_nullable: "YES" },
        ]);
        expect((await leftovers(url)).triggers).toEqual([]);
      } finally {
        await a.end();
        await e.close();
      }
    });
  });

  it("keeps a non-volatile default as PostgreSQL's fast default (no backfill, no rewrite)", async () => {
    await withDb("vol", async (url) => {
      const e = engineFor(url);
      const a = await admin(url);
      try {
        await seededShop(url, 5);
        const before = await relfilenode(a);
        const started = await e.start({
          name: "0002_stable",
          operations: [
            {
              add_column: {
                table: "products",
                column: { name: "added_at", type: "timestamptz", nullable: false, default: "now()" },
              },
            },
          ],
        });
        expect(started.backfill).toEqual([]);
        await e.complete("0002_stable");
        expect(await relfilenode(a)).toBe(before);
        expect((await a.query("SELECT count(DISTINCT added_at)::int AS n FROM products")).rows[0].n).toBe(1);
      } finally {
        await a.end();
        await e.close();
      }
    });
  });
});
