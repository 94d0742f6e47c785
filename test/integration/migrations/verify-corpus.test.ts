/**
 * verify must not cry wolf: over a corpus of realistic migrations
 * (test/fixtures/migrations/corpus: every operation kind, subquery
 * expressions, unique and constrained columns changing, data-repairing and
 * volatile expressions, several changes to one table at once), each sound
 * migration is started over a seeded shop schema and verify must find it
 * ready; then it rolls back cleanly and completes.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadMigrationFile, loadMigrationsDir } from "../../../lib/migrations/file-format";
import { OPERATION_KINDS } from "../../../lib/migrations/operations";
import { applied, engineFor, leftovers, schemaOf, withClient, withDb } from "./helpers";

const CORPUS = path.join(__dirname, "../../fixtures/migrations/corpus");
const BASE = loadMigrationFile(path.join(CORPUS, "base.yaml"));
const SEED = fs.readFileSync(path.join(CORPUS, "seed.sql"), "utf8");
const MIGRATIONS = loadMigrationsDir(path.join(CORPUS, "migrations")).map((f) => f.definition);

const falseAlarms: string[] = [];

describe("verify over a corpus of sound migrations", () => {
  afterAll(() => {
    console.log(
      `verify corpus: ${MIGRATIONS.length} migrations, ${falseAlarms.length} false alarm(s)` +
        (falseAlarms.length ? `:\n  ${falseAlarms.join("\n  ")}` : ""),
    );
  });

  it("holds at least 30 migrations and uses every operation kind", () => {
    expect(MIGRATIONS.length).toBeGreaterThanOrEqual(30);
    const used = new Set(MIGRATIONS.flatMap((m) => m.operations.map((op) => Object.keys(op)[0])));
    expect([...used].sort()).toEqual([...OPERATION_KINDS].sort());
  });

  it.each(MIGRATIONS.map((m) => [m.name, m] as const))(
    "%s: verify finds it ready; it rolls back and completes",
    async (name, migration) => {
      await withDb("corpus", async (url) => {
        const e = engineFor(url);
        try {
          await applied(url, BASE);
          await withClient(url, schemaOf(BASE.name), (c) => c.query(SEED));

          await e.start(migration);
          const failed = (await e.verify()).checks.filter((c) => !c.ok);
          falseAlarms.push(...failed.map((c) => `${name}: ${c.name}: ${c.detail}`));
          expect(failed).toEqual([]);

          expect((await e.rollback(name)).phase).toBe("rolled_back");
          expect(await leftovers(url)).toMatchObject({
            triggers: [],
            functions: [],
            invalidIndexes: [],
            versionSchemas: [schemaOf(BASE.name)],
          });
          await e.start(migration);
          expect((await e.complete(name)).phase).toBe("completed");
          expect(await leftovers(url)).toMatchObject({
            triggers: [],
            functions: [],
            invalidIndexes: [],
            versionSchemas: [schemaOf(name)],
          });
        } finally {
          await e.close();
        }
      });
    },
  );
});
