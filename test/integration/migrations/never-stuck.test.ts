/**
 * Whatever fails inside complete or rollback, the migration is left where
 * the same command succeeds once the cause is fixed, or the other command
 * works; `status` says what happened and what to run.
 *
 *  - complete first validates (the migration stays active): a failure there
 *    leaves both commands open;
 *  - complete then contracts; until its first contracting step commits,
 *    rollback can still restore the old version (its views included);
 *  - after that only complete can finish, and a rerun does once the cause
 *    (here: a lock held by another session) is gone.
 */
import type { Client } from "pg";
import { describe, expect, it } from "vitest";
import type { MigrationDefinition } from "../../../lib/migrations/file-format";
import { seededShop } from "./fixtures/shop";
import { admin, engineFor, leftovers, schemaOf, withClient, withDb } from "./helpers";

const CHEAP: MigrationDefinition = {
  name: "0002_cheap",
  operations: [{ add_constraint: { type: "check", table: "products", name: "cheap", check: "price < 5" } }],
};

const ARCHIVE: MigrationDefinition = {
  name: "0002_archive",
  operations: [
    {
      raw_sql: {
        start: "CREATE TABLE audit (id bigserial PRIMARY KEY, msg text)",
        complete: "ALTER TABLE audit SET SCHEMA archive",
        rollback: "ALTER TABLE audit RENAME TO _ss_rb_audit",
      },
    },
    { add_column: { table: "products", column: { name: "stock", type: "int" } } },
  ],
};

const TWO_TABLES: MigrationDefinition = {
  name: "0002_two_tables",
  operations: [
    {
      create_table: {
        table: "notes",
        columns: [
          { name: "id", type: "bigserial", primary_key: true },
          { name: "body", type: "text" },
        ],
      },
    },
    { rename_column: { table: "notes", from: "body", to: "content" } },
    { drop_column: { table: "products", column: "description" } },
  ],
};

/** A session holding a lock that every DDL on `table` conflicts with. */
async function holdLock(url: string, table: string): Promise<Client> {
  const c = await admin(url);
  await c.query("BEGIN");
  await c.query(`LOCK TABLE ${table} IN ACCESS SHARE MODE`);
  return c;
}

describe("complete and rollback never leave a migration stuck", () => {
  it("complete failing validation leaves it active: rollback works, or fix the rows and complete", async () => {
    await withDb("stuck", async (url) => {
      await seededShop(url);
      const e = engineFor(url);
      try {
        await e.start(CHEAP);
        await expect(e.complete(CHEAP.name)).rejects.toMatchObject({
          code: "FAILED",
          message: expect.stringMatching(/check constraint "cheap" .* is violated by some row/),
        });
        const st = await e.status();
        expect(st.active).toMatchObject({ name: CHEAP.name, phase: "active", canRollBack: true });
        expect(st.active?.lastError).toMatch(/"cheap"/);
        expect(st.active?.next).toBe(
          "complete failed before contracting anything; fix the cause and run `shipshape migrate complete` again, or run `shipshape migrate rollback`",
        );
        expect((await e.rollback(CHEAP.name)).phase).toBe("rolled_back");
        expect((await leftovers(url)).versionSchemas).toEqual([schemaOf("0001_init")]);

        await e.start(CHEAP);
        await expect(e.complete(CHEAP.name)).rejects.toMatchObject({ code: "FAILED" });
        await withClient(url, schemaOf("0001_init"), (c) => c.query("DELETE FROM products WHERE price >= 5"));
        expect((await e.complete(CHEAP.name)).phase).toBe("completed");
        expect((await e.status()).active).toBeNull();
      } finally {
        await e.close();
      }
    });
  });

  it("complete failing at its first contracting step can still roll back, old views restored", async () => {
    await withDb("stuck", async (url) => {
      await seededShop(url);
      const e = engineFor(url);
      try {
        await e.start(ARCHIVE);
        await expect(e.complete(ARCHIVE.name)).rejects.toThrow(/schema "archive" does not exist/);
        const st = await e.status();
        expect(st.active).toMatchObject({ phase: "completing", canRollBack: true });
        expect(st.active?.next).toBe(
          "complete stopped before its first contracting step committed; fix the cause and run `shipshape migrate complete` again, or run `shipshape migrate rollback` (it restores the old version's views)",
        );
        expect((await e.rollback(ARCHIVE.name)).phase).toBe("rolled_back");
        expect((await leftovers(url)).versionSchemas).toEqual([schemaOf("0001_init")]);
        await withClient(url, schemaOf("0001_init"), async (c) => {
          await c.query("INSERT INTO products (name, price) VALUES ('after rollback', 1)");
          expect((await c.query("SELECT count(*)::int AS n FROM products")).rows[0].n).toBe(8);
        });

        await e.start(ARCHIVE);
        await expect(e.complete(ARCHIVE.name)).rejects.toThrow(/schema "archive" does not exist/);
        const a = await admin(url);
        await a.query("CREATE SCHEMA archive");
        await a.end();
        expect((await e.complete(ARCHIVE.name)).phase).toBe("completed");
      } finally {
        await e.close();
      }
    });
  });

  it("complete failing after it contracted something: rollback refused with advice, rerun completes", async () => {
    await withDb("stuck", async (url) => {
      await seededShop(url);
      let holder: Client | undefined;
      const e = engineFor(url, {
        lockTimeoutMs: 50,
        ddlRetries: 1,
        hooks: {
          async afterStep(step) {
            if (step === "complete:1:rename_column") holder = await holdLock(url, "products");
          },
        },
      });
      try {
        await e.start(TWO_TABLES);
        await expect(e.complete(TWO_TABLES.name)).rejects.toMatchObject({
          code: "LOCK_TIMEOUT",
          retryable: true,
        });
        const st = await e.status();
        expect(st.active).toMatchObject({ phase: "completing", canRollBack: false });
        expect(st.active?.next).toBe(
          "complete stopped after it began contracting; fix the cause and run `shipshape migrate complete` again (rollback is no longer possible)",
        );
        await expect(e.rollback(TWO_TABLES.name)).rejects.toMatchObject({
          code: "INVALID_PHASE",
          message: expect.stringMatching(/run `shipshape migrate complete` again/),
        });
        await holder?.query("COMMIT");
        expect((await e.complete(TWO_TABLES.name)).phase).toBe("completed");
      } finally {
        await holder?.end();
        await e.close();
      }
    });
  });

  it("rollback failing on a lock: status says rerun rollback; the rerun finishes it", async () => {
    await withDb("stuck", async (url) => {
      await seededShop(url);
      const e = engineFor(url, { lockTimeoutMs: 50, ddlRetries: 1 });
      let holder: Client | undefined;
      try {
        await e.start(TWO_TABLES);
        holder = await holdLock(url, "notes");
        await expect(e.rollback(TWO_TABLES.name)).rejects.toMatchObject({ code: "LOCK_TIMEOUT" });
        const st = await e.status();
        expect(st.active).toMatchObject({ phase: "rolling_back", canRollBack: true });
        expect(st.active?.next).toBe(
          "rollback stopped part-way; fix the cause and run `shipshape migrate rollback` again (complete is no longer possible)",
        );
        await holder.query("COMMIT");
        expect((await e.rollback(TWO_TABLES.name)).phase).toBe("rolled_back");
      } finally {
        await holder?.end();
        await e.close();
      }
    });
  });
});
