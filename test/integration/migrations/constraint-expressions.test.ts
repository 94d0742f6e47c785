/**
 * A constraint expression names columns as the new version sees them: a
 * check on a column that the same migration shadows lands on the new
 * (shadow) column whatever the order of the two operations, is validated on
 * complete and survives the swap under its own name.
 */
import { describe, expect, it } from "vitest";
import type { MigrationDefinition } from "../../../lib/migrations/file-format";
import { admin, applied, engineFor, schemaOf, withClient, withDb } from "./helpers";

const INIT: MigrationDefinition = {
  name: "01_posts",
  operations: [
    {
      create_table: {
        table: "posts",
        columns: [
          { name: "id", type: "bigserial", primary_key: true },
          { name: "title", type: "varchar(50)" },
        ],
      },
    },
  ],
};

const changeType = {
  change_type: { table: "posts", column: "title", type: "text", up: "title", down: "title" },
};
const check = {
  add_constraint: { type: "check", table: "posts", name: "title_length", check: "length(title) > 3" },
};

describe("a check on a column shadowed in the same migration", () => {
  it.each([
    ["change_type, then add_constraint", [changeType, check]],
    ["add_constraint, then change_type", [check, changeType]],
  ])("%s: the check binds to the new column and survives complete", async (_, operations) => {
    await withDb("cexpr", async (url) => {
      const e = engineFor(url);
      const a = await admin(url);
      try {
        await applied(url, INIT);
        await withClient(url, schemaOf("01_posts"), (c) =>
          c.query("INSERT INTO posts (title) VALUES ('hello'), ('world')"),
        );
        const migration: MigrationDefinition = { name: "02_title_text", operations };
        await e.start(migration);
        const onColumn = await a.query(
          `SELECT a.attname FROM pg_constraint co JOIN pg_attribute a ON a.attrelid = co.conrelid AND a.attnum = ANY (co.conkey)
            WHERE co.conname = 'title_length'`,
        );
        expect(onColumn.rows).toEqual([{ attname: "_ss_new_title" }]);
        expect((await e.verify()).checks.filter((c) => !c.ok)).toEqual([]);
        await withClient(url, schemaOf("02_title_text"), async (c) => {
          await expect(c.query("INSERT INTO posts (title) VALUES ('abc')")).rejects.toThrow(/"title_length"/);
        });

        expect((await e.complete(migration.name)).phase).toBe("completed");
        const after = await a.query(
          `SELECT conname, pg_get_constraintdef(oid) AS def, convalidated FROM pg_constraint
            WHERE conrelid = 'public.posts'::regclass AND contype = 'c'`,
        );
        expect(after.rows).toEqual([
          { conname: "title_length", def: "CHECK ((length(title) > 3))", convalidated: true },
        ]);
        await withClient(url, schemaOf("02_title_text"), async (c) => {
          await expect(c.query("INSERT INTO posts (title) VALUES ('abc')")).rejects.toThrow(/"title_length"/);
          await c.query("INSERT INTO posts (title) VALUES ('long enough')");
        });
      } finally {
        await a.end();
        await e.close();
      }
    });
  });
});
