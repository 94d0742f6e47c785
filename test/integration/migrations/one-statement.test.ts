/**
 * Issue 16, item 5 against a real PostgreSQL: what the engine sends is exactly
 * one statement per query, trigger functions survive a body that contains any
 * dollar-quote tag, and contract steps drop with RESTRICT unless the migration
 * says cascade.
 */
import { Pool } from "pg";
import { describe, expect, it } from "vitest";
import { oneStatementClient } from "../../../lib/migrations/commands/step-runner";
import type { MigrationDefinition } from "../../../lib/migrations/file-format";
import { admin, engineFor, schemaOf, withClient, withDb } from "./helpers";

const INIT: MigrationDefinition = {
  name: "0001_init",
  operations: [
    {
      create_table: {
        table: "products",
        columns: [
          { name: "id", type: "bigserial", primary_key: true },
          { name: "name", type: "text", nullable: false },
        ],
      },
    },
    {
      create_table: {
        table: "lines",
        columns: [
          { name: "id", type: "bigserial", primary_key: true },
          { name: "product_id", type: "bigint", references: { table: "products", column: "id" } },
        ],
      },
    },
  ],
};

async function fkCount(url: string): Promise<number> {
  const a = await admin(url);
  try {
    const r = await a.query(
      "SELECT count(*)::int AS n FROM pg_constraint WHERE contype = 'f' AND conrelid = 'public.lines'::regclass",
    );
    return r.rows[0].n;
  } finally {
    await a.end();
  }
}

describe("one statement per query (issue 16)", () => {
  it("a step's client refuses text holding two statements, and runs one statement (even CONCURRENTLY)", async () => {
    await withDb("one", async (url) => {
      const pool = new Pool({ connectionString: url, max: 1 });
      const raw = await pool.connect();
      try {
        const c = oneStatementClient(raw);
        await c.query("CREATE TABLE t (id int)");
        await expect(c.query("INSERT INTO t VALUES (1); DROP TABLE t")).rejects.toThrow(/multiple commands/);
        expect((await c.query("SELECT count(*)::int AS n FROM t")).rows[0].n).toBe(0);
        expect((await c.query("SELECT $1::int AS v", [7])).rows[0].v).toBe(7);
        await c.query("CREATE INDEX CONCURRENTLY t_id ON t (id)");
      } finally {
        raw.release();
        await pool.end();
      }
    });
  });

  it("a trigger whose expression holds the dollar-quote tag $ss$ still installs and works", async () => {
    await withDb("tag", async (url) => {
      const engine = engineFor(url);
      try {
        await engine.start(INIT);
        await engine.complete(INIT.name);
        await engine.start({
          name: "0002_tag",
          operations: [
            {
              add_column: {
                table: "products",
                column: { name: "label", type: "text", up: "'$ss$' || name || $ss$;$ss$" },
              },
            },
          ],
        });
        await withClient(url, schemaOf("0001_init"), async (c) => {
          await c.query("INSERT INTO products (name) VALUES ('x')");
        });
        await withClient(url, schemaOf("0002_tag"), async (c) => {
          expect((await c.query("SELECT label FROM products")).rows).toEqual([{ label: "$ss$x;" }]);
        });
      } finally {
        await engine.close();
      }
    });
  });

  it("drop_table and drop_column contract with RESTRICT: a foreign key on them stops the drop", async () => {
    await withDb("restrict", async (url) => {
      const engine = engineFor(url);
      try {
        await engine.start(INIT);
        await engine.complete(INIT.name);
        await engine.start({ name: "0002_drop", operations: [{ drop_table: { table: "products" } }] });
        await expect(engine.complete("0002_drop")).rejects.toThrow(/depend/);
        // The foreign key another table has on it is still there: nothing vanished silently.
        expect(await fkCount(url)).toBe(1);
      } finally {
        await engine.close();
      }
    });
    await withDb("restrictcol", async (url) => {
      const engine = engineFor(url);
      try {
        await engine.start(INIT);
        await engine.complete(INIT.name);
        await engine.start({
          name: "0002_dropcol",
          operations: [{ drop_column: { table: "products", column: "id" } }],
        });
        await expect(engine.complete("0002_dropcol")).rejects.toThrow(/depend/);
        expect(await fkCount(url)).toBe(1);
      } finally {
        await engine.close();
      }
    });
  });

  it("cascade: true drops what depends on the table too", async () => {
    await withDb("cascade", async (url) => {
      const engine = engineFor(url);
      try {
        await engine.start(INIT);
        await engine.complete(INIT.name);
        await engine.start({
          name: "0002_drop",
          operations: [{ drop_table: { table: "products", cascade: true } }],
        });
        expect((await engine.complete("0002_drop")).phase).toBe("completed");
        expect(await fkCount(url)).toBe(0);
      } finally {
        await engine.close();
      }
    });
  });
});
