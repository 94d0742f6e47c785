/**
 * Several migrations started together as one attempt (a release's), on real
 * PostgreSQL: the old version's schema stays until complete, status reports
 * each migration, any of the names reaches the attempt, a migration is never
 * started twice, and every command converges after a crash at any step.
 */
import { describe, expect, it } from "vitest";
import type { MigrationDefinition } from "../../../lib/migrations/file-format";
import { seededShop } from "./fixtures/shop";
import { crashing, engineFor, fingerprint, leftovers, run, schemaOf, withClient, withDb } from "./helpers";

const SLUG: MigrationDefinition = {
  name: "0002_slug",
  operations: [
    {
      create_table: {
        table: "reviews",
        columns: [
          { name: "id", type: "bigserial", primary_key: true },
          { name: "product_id", type: "bigint", references: { table: "products", column: "id" } },
          { name: "body", type: "text" },
        ],
      },
    },
    {
      add_column: {
        table: "products",
        column: { name: "slug", type: "text", nullable: false, up: "lower(name)" },
      },
    },
  ],
};
const TITLE_CENTS: MigrationDefinition = {
  name: "0003_title_cents",
  operations: [
    { rename_column: { table: "products", from: "name", to: "title" } },
    {
      change_type: {
        table: "products",
        column: "price",
        name: "price_cents",
        type: "bigint",
        up: "(price * 100)::bigint",
        down: "price_cents / 100.0",
      },
    },
  ],
};
const DROP_DESCRIPTION: MigrationDefinition = {
  name: "0004_drop_description",
  operations: [
    { drop_column: { table: "products", column: "description" } },
    { create_index: { name: "products_slug_idx", table: "products", columns: ["slug"] } },
  ],
};
const RELEASE = [SLUG, TITLE_CENTS, DROP_DESCRIPTION];
const NAMES = RELEASE.map((m) => m.name);
const OLD = schemaOf("0001_init");
const NEW = schemaOf("0004_drop_description");

const phases = async (url: string) =>
  (await run(url, (e) => e.status())).migrations.map((m) => `${m.name}:${m.phase}`);

describe("several migrations started as one attempt", () => {
  it("keeps the old version's schema until complete, reports each migration, and answers to any of the names", async () => {
    await withDb("tog", async (url) => {
      await seededShop(url);
      const started = await run(url, (e) => e.startTogether(RELEASE, { owner: "d2" }));
      expect(started).toMatchObject({
        migration: "0004_drop_description",
        phase: "active",
        versionSchema: NEW,
      });
      const status = await run(url, (e) => e.status());
      expect(status.migrations.map((m) => `${m.name}:${m.phase}:${m.owner}`)).toEqual([
        "0001_init:completed:null",
        ...NAMES.map((n) => `${n}:active:d2`),
      ]);
      expect(status.migrations.slice(1).map((m) => m.together)).toEqual([NAMES, NAMES, NAMES]);
      expect(status.migrations.map((m) => m.operations.length)).toEqual([2, 2, 2, 2]);
      expect(status.migrations[2]?.operations[0]).toMatch(/rename column products.name to title/);
      expect(status.active?.name).toBe("0002_slug");
      expect(status.versionSchemas).toEqual([OLD, NEW]);
      // Both versions work side by side, each through its own schema.
      await withClient(url, OLD, (c) =>
        c.query("INSERT INTO products (name, price, description) VALUES ('Old', 2.5, 'kept')"),
      );
      const seen = await withClient(url, NEW, (c) =>
        c.query("SELECT title, price_cents::int AS cents, slug FROM products WHERE title = 'Old'"),
      );
      expect(seen.rows).toEqual([{ title: "Old", cents: 250, slug: "old" }]);
      expect((await run(url, (e) => e.verify("0003_title_cents"))).ok).toBe(true);

      // Rerun: nothing left to do. A migration of the attempt started alone, or again with others, is refused.
      expect((await run(url, (e) => e.startTogether(RELEASE, { owner: "d2" }))).alreadyDone).toBe(true);
      await expect(run(url, (e) => e.start(SLUG))).rejects.toMatchObject({
        code: "ANOTHER_ACTIVE",
        message: expect.stringMatching(
          /'0002_slug' is active .* as part of one attempt with 0002_slug, 0003_title_cents and 0004_drop_description/,
        ),
      });
      await expect(
        run(url, (e) => e.startTogether([SLUG, TITLE_CENTS], { owner: "d2" })),
      ).rejects.toMatchObject({
        code: "ANOTHER_ACTIVE",
      });
      await expect(run(url, (e) => e.startTogether(RELEASE, { owner: "d3" }))).rejects.toThrow(
        /started by d2, not by d3/,
      );
      const changed = { ...TITLE_CENTS, operations: TITLE_CENTS.operations.slice(0, 1) };
      await expect(
        run(url, (e) => e.startTogether([SLUG, changed, DROP_DESCRIPTION], { owner: "d2" })),
      ).rejects.toMatchObject({ code: "ANOTHER_ACTIVE" });

      // Complete by the first name: all of them, in order; the old version's schema goes only now.
      const completed = await run(url, (e) => e.complete("0002_slug"));
      expect(completed.phase).toBe("completed");
      expect(await phases(url)).toEqual(["0001_init:completed", ...NAMES.map((n) => `${n}:completed`)]);
      expect((await run(url, (e) => e.status())).versionSchemas).toEqual([NEW]);
      expect((await run(url, (e) => e.start(TITLE_CENTS))).alreadyDone).toBe(true);
      await expect(run(url, (e) => e.start(changed))).rejects.toMatchObject({ code: "DEFINITION_CHANGED" });
      await expect(run(url, (e) => e.startTogether([TITLE_CENTS, DROP_DESCRIPTION]))).rejects.toMatchObject({
        code: "VALIDATION",
        message: expect.stringMatching(/'0003_title_cents' is already completed/),
      });
    });
  });

  it("rolls back every migration of the attempt by any name, keeping what the new version wrote; a new attempt can follow", async () => {
    await withDb("tog", async (url) => {
      await seededShop(url);
      await run(url, (e) => e.startTogether(RELEASE, { owner: "d2" }));
      await withClient(url, NEW, (c) =>
        c.query("INSERT INTO products (title, price_cents, slug) VALUES ('New', 300, 'new-one')"),
      );
      await expect(run(url, (e) => e.rollback("0003_title_cents", { owner: "d3" }))).rejects.toMatchObject({
        code: "NOT_OWNER",
      });
      expect((await run(url, (e) => e.rollback("0003_title_cents", { owner: "d2" }))).phase).toBe(
        "rolled_back",
      );
      expect(await phases(url)).toEqual(["0001_init:completed", ...NAMES.map((n) => `${n}:rolled_back`)]);
      const status = await run(url, (e) => e.status());
      expect(status.versionSchemas).toEqual([OLD]);
      expect(status.aside.map((a) => a.originalName).sort()).toEqual(["price_cents", "reviews", "slug"]);
      const old = await withClient(url, OLD, (c) =>
        c.query("SELECT name, price::text AS price, description FROM products WHERE name = 'New'"),
      );
      expect(old.rows).toEqual([{ name: "New", price: "3.00", description: null }]);
      expect((await leftovers(url)).unrecordedInternal).toEqual([]);
      // Released again later: a second attempt.
      const again = await run(url, (e) => e.startTogether(RELEASE, { owner: "d4" }));
      expect(again.attempt).toBe(2);
      await run(url, (e) => e.complete("0004_drop_description"));
      expect((await phases(url)).slice(-3)).toEqual(NAMES.map((n) => `${n}:completed`));
    });
  });
});

/** Crash points of a command: every recorded step, plus effect-before-record and first backfill batch. */
function crashPoints(steps: string[], seen: string[]): string[] {
  return [...steps, ...seen.filter((s) => s.endsWith("#effect") || s.endsWith("#batch"))];
}

describe("started together: a crash after every step converges on rerun", async () => {
  const ref = await withDb("togref", async (url) => {
    await seededShop(url);
    const seen: string[] = [];
    const e = engineFor(url, { hooks: { afterStep: (s) => void seen.push(s) } });
    const started = await e.startTogether(RELEASE);
    const startPoints = crashPoints(started.steps, seen.splice(0));
    const completed = await e.complete(DROP_DESCRIPTION.name);
    const completePoints = crashPoints(completed.steps, seen.splice(0));
    await e.close();
    return { startPoints, completePoints, afterComplete: await fingerprint(url) };
  });
  const rb = await withDb("togref", async (url) => {
    await seededShop(url);
    const seen: string[] = [];
    const e = engineFor(url, { hooks: { afterStep: (s) => void seen.push(s) } });
    await e.startTogether(RELEASE);
    seen.splice(0);
    const rolled = await e.rollback(DROP_DESCRIPTION.name);
    const rollbackPoints = crashPoints(rolled.steps, seen.splice(0));
    await e.close();
    return {
      rollbackPoints,
      afterRollback: await fingerprint(url),
      afterRollbackSchema: await fingerprint(url, { aside: false }),
    };
  });

  it("passes every part's steps", () => {
    expect(ref.startPoints).toContain("start:1:backfill#batch");
    expect(ref.startPoints).toContain("start:5:create_index#effect");
    expect(ref.completePoints).toContain("complete:drop-old-schemas");
    expect(ref.completePoints).toContain("complete:4:drop_column");
    // Rollback undoes the newest migration's operations first, the oldest's last.
    const undone = rb.rollbackPoints
      .flatMap((s) => /^rollback:(\d+):[a-z_]+$/.exec(s)?.[1] ?? [])
      .map(Number);
    expect(undone).toEqual([5, 3, 1, 0]);
  });

  it.each(ref.startPoints)("start crashes after %s → rerun start → complete converges", async (point) => {
    await withDb("togs", async (url) => {
      await seededShop(url);
      expect(await crashing(url, point, (e) => e.startTogether(RELEASE))).toBe(true);
      expect(await phases(url)).toEqual(["0001_init:completed", ...NAMES.map((n) => `${n}:starting`)]);
      await run(url, (e) => e.startTogether(RELEASE));
      await run(url, (e) => e.complete(DROP_DESCRIPTION.name));
      expect(await fingerprint(url)).toBe(ref.afterComplete);
    });
  });

  it.each(ref.startPoints)("start crashes after %s → rollback converges", async (point) => {
    await withDb("togr", async (url) => {
      await seededShop(url);
      expect(await crashing(url, point, (e) => e.startTogether(RELEASE))).toBe(true);
      await run(url, (e) => e.rollback(SLUG.name));
      expect(await fingerprint(url, { aside: false })).toBe(rb.afterRollbackSchema);
      expect((await leftovers(url)).unrecordedInternal).toEqual([]);
    });
  });

  it.each(ref.completePoints)("complete crashes after %s → rerun converges", async (point) => {
    await withDb("togc", async (url) => {
      await seededShop(url);
      await run(url, (e) => e.startTogether(RELEASE));
      expect(await crashing(url, point, (e) => e.complete(DROP_DESCRIPTION.name))).toBe(true);
      await run(url, (e) => e.complete(DROP_DESCRIPTION.name));
      expect(await fingerprint(url)).toBe(ref.afterComplete);
    });
  });

  it.each(rb.rollbackPoints)("rollback crashes after %s → rerun converges", async (point) => {
    await withDb("togb", async (url) => {
      await seededShop(url);
      await run(url, (e) => e.startTogether(RELEASE));
      expect(await crashing(url, point, (e) => e.rollback(DROP_DESCRIPTION.name))).toBe(true);
      await run(url, (e) => e.rollback(DROP_DESCRIPTION.name));
      expect(await fingerprint(url)).toBe(rb.afterRollback);
    });
  });
});
