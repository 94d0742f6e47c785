/**
 * verify's probes run `up` / `down` exactly as the dual-write triggers do,
 * never write a value another row already holds, and demand a round trip
 * only from changes declared `lossless: true`. Sound migrations pass; real
 * faults still fail, saying which probe and why.
 */
import { describe, expect, it } from "vitest";
import type { MigrationDefinition } from "../../../lib/migrations/file-format";
import { applied, engineFor, schemaOf, withClient, withDb } from "./helpers";

const INIT: MigrationDefinition = {
  name: "01_accounts",
  operations: [
    {
      create_table: {
        table: "accounts",
        columns: [
          { name: "id", type: "bigserial", primary_key: true },
          { name: "email", type: "text" },
          { name: "status", type: "text", nullable: false, default: "'new'" },
          { name: "code", type: "text" },
          { name: "token", type: "text" },
        ],
      },
    },
    { add_constraint: { type: "unique", table: "accounts", name: "accounts_code_key", columns: ["code"] } },
  ],
};

async function seeded(url: string) {
  await applied(url, INIT);
  await withClient(url, schemaOf("01_accounts"), (c) =>
    c.query(
      `INSERT INTO accounts (email, status, code, token) VALUES
         ('Alice@Example.com', 'active', 'A-1', 't-1'), ('Bob@Example.com', 'new', 'B-2', NULL),
         (NULL, 'closed', 'C-3', NULL), ('dan@example.com', 'active', NULL, 't-4')`,
    ),
  );
}

/** Starts `operations` as 02_change, verifies, rolls back; returns the failed checks. */
async function failedChecks(url: string, operations: MigrationDefinition["operations"]) {
  const e = engineFor(url);
  try {
    await e.start({ name: "02_change", operations });
    const v = await e.verify();
    await e.rollback("02_change");
    return v.checks.filter((c) => !c.ok);
  } finally {
    await e.close();
  }
}

describe("verify without false alarms", () => {
  it.each([
    [
      "up / down written as subqueries",
      {
        change_type: {
          table: "accounts",
          column: "status",
          name: "status_code",
          type: "smallint",
          up: "SELECT CASE status WHEN 'new' THEN 0 WHEN 'active' THEN 1 ELSE 2 END",
          down: "SELECT CASE status_code WHEN 0 THEN 'new' WHEN 1 THEN 'active' ELSE 'closed' END",
        },
      },
    ],
    [
      "a unique column changing type",
      { change_type: { table: "accounts", column: "code", type: "varchar(40)", up: "code", down: "code" } },
    ],
    [
      "an up that repairs data",
      {
        set_not_null: {
          table: "accounts",
          column: "email",
          up: "COALESCE(lower(email), 'unknown-' || id || '@example.invalid')",
        },
      },
    ],
    [
      "an up that uses random()",
      { set_not_null: { table: "accounts", column: "token", up: "COALESCE(token, md5(random()::text))" } },
    ],
  ])("passes a sound migration: %s", async (_, op) => {
    await withDb("vfy", async (url) => {
      await seeded(url);
      expect(await failedChecks(url, [op])).toEqual([]);
    });
  });

  it("still fails, saying why, for a lossless change whose down is not the inverse of up", async () => {
    await withDb("vfy", async (url) => {
      await seeded(url);
      const failed = await failedChecks(url, [
        {
          change_type: {
            table: "accounts",
            column: "code",
            type: "text",
            up: "lower(code)",
            down: "code",
            lossless: true,
          },
        },
      ]);
      expect(failed.map((c) => c.name)).toEqual(["round-trip probes (old ⇄ new, rolled back)"]);
      expect(failed[0]?.detail).toMatch(
        /accounts\.code \(old → new → old\): declared lossless, but down\(up\(code\)\) ≠ code on 3 of 4 sampled rows/,
      );
    });
  });

  it("still fails when down gives the old version NULL for a NOT NULL column", async () => {
    await withDb("vfy", async (url) => {
      await seeded(url);
      const failed = await failedChecks(url, [
        { drop_not_null: { table: "accounts", column: "status", down: "status" } },
      ]);
      expect(failed.map((c) => c.name)).toEqual(["round-trip probes (old ⇄ new, rolled back)"]);
      expect(failed[0]?.detail).toMatch(
        /accounts\.status \(new → old\): down gives NULL for a NULL status, but the old version's column is NOT NULL/,
      );
    });
  });
});
