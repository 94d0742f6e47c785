/**
 * add_constraint primary_key on an existing table that has rows: no table
 * rewrite and no scan under a strong lock (unique index built CONCURRENTLY,
 * NOT NULL through a validated check); NULLs in a key column keep the
 * migration active at complete (nothing contracted) with the reason; a table
 * that already has a primary key is refused before anything is recorded.
 */
import type { Client } from "pg";
import { describe, expect, it } from "vitest";
import type { MigrationDefinition } from "../../../lib/migrations/file-format";
import { admin, applied, engineFor, leftovers, schemaOf, withClient, withDb } from "./helpers";

const INIT: MigrationDefinition = {
  name: "0001_init",
  operations: [
    {
      create_table: {
        table: "events",
        columns: [
          { name: "source", type: "text" },
          { name: "seq", type: "int" },
          { name: "payload", type: "text" },
        ],
      },
    },
  ],
};

const ADD_PK: MigrationDefinition = {
  name: "0002_pk",
  operations: [
    {
      add_constraint: {
        type: "primary_key",
        table: "events",
        name: "events_pk",
        columns: ["source", "seq"],
        include: ["payload"],
      },
    },
  ],
};

const relfilenode = async (a: Client) =>
  (await a.query("SELECT relfilenode FROM pg_class WHERE oid = 'public.events'::regclass")).rows[0]
    .relfilenode;

describe("add_constraint primary_key on an existing table", () => {
  it("adds it without rewriting the table; NULL keys hold complete back with the reason", async () => {
    await withDb("pk", async (url) => {
      const e = engineFor(url);
      const a = await admin(url);
      try {
        await applied(url, INIT);
        await withClient(url, schemaOf("0001_init"), (c) =>
          c.query("INSERT INTO events SELECT 'app', g, 'p' || g FROM generate_series(1, 200) g"),
        );
        // A row the old version wrote before the migration, with a NULL key column.
        await a.query("INSERT INTO public.events (source, seq) VALUES ('app', NULL)");
        const before = await relfilenode(a);

        await e.start(ADD_PK);
        // From start on, neither version can write a NULL key or a duplicate.
        await withClient(url, schemaOf("0001_init"), async (c) => {
          await expect(c.query("INSERT INTO events (source, seq) VALUES ('app', NULL)")).rejects.toThrow(
            /check/,
          );
          await expect(c.query("INSERT INTO events (source, seq) VALUES ('app', 1)")).rejects.toThrow(
            /duplicate/,
          );
        });
        const v = await e.verify();
        expect(v.checks.find((c) => !c.ok)?.detail).toMatch(/1 row/);

        await expect(e.complete("0002_pk")).rejects.toThrow(/violated/);
        expect((await e.status()).active?.phase).toBe("active");

        await a.query("DELETE FROM public.events WHERE seq IS NULL");
        expect((await e.complete("0002_pk")).phase).toBe("completed");
        const pk = await a.query(
          "SELECT conname, pg_get_indexdef(conindid) AS def FROM pg_constraint WHERE conrelid = 'public.events'::regclass AND contype = 'p'",
        );
        expect(pk.rows).toEqual([
          {
            conname: "events_pk",
            def: "CREATE UNIQUE INDEX events_pk ON public.events USING btree (source, seq) INCLUDE (payload)",
          },
        ]);
        expect(await relfilenode(a)).toBe(before);
        expect((await leftovers(url)).unrecordedInternal).toEqual([]);

        // A second primary key is refused before anything is recorded.
        const again: MigrationDefinition = {
          name: "0003_pk_again",
          operations: [
            {
              add_constraint: { type: "primary_key", table: "events", name: "events_pk2", columns: ["seq"] },
            },
          ],
        };
        await expect(e.start(again)).rejects.toThrow(/already has primary key events_pk/);
        expect((await e.status()).migrations.map((m) => m.name)).toEqual(["0001_init", "0002_pk"]);
      } finally {
        await a.end();
        await e.close();
      }
    });
  });
});
