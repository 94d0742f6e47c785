import { describe, expect, it } from "vitest";
import { findLeftovers } from "../../../lib/migrations/leftovers";
import { EVERYTHING, INIT, seed } from "./fixtures/shop";
import { admin, engineFor, SERVICE, schemaOf, withDb } from "./helpers";

/**
 * The leftovers query is what the chaos suite and the engine tests trust to
 * say "nothing was left behind"; it must see what an active migration really
 * puts in the database, or its empty answer would prove nothing.
 */
describe("findLeftovers", () => {
  it("sees an active migration's triggers, shadow columns and second version schema, and nothing once it is rolled back", async () => {
    await withDb("leftovers", async (url) => {
      const engine = engineFor(url);
      try {
        await engine.start(INIT);
        await engine.complete(INIT.name);
        const c = await admin(url);
        await seed(c).finally(() => c.end());
        expect(await findLeftovers(url, SERVICE)).toEqual({
          triggers: [],
          functions: [],
          unrecordedInternal: [],
          aside: [],
          invalidIndexes: [],
          versionSchemas: [schemaOf(INIT.name)],
        });

        await engine.start(EVERYTHING);
        const during = await findLeftovers(url, SERVICE);
        expect(during.triggers.length).toBeGreaterThan(0);
        expect(during.functions.length).toBeGreaterThan(0);
        expect(during.unrecordedInternal.length).toBeGreaterThan(0); // shadow columns (_ss_new_…)
        expect(during.versionSchemas).toEqual([schemaOf(INIT.name), schemaOf(EVERYTHING.name)]);

        await engine.rollback(EVERYTHING.name);
        const after = await findLeftovers(url, SERVICE);
        expect(after).toMatchObject({
          triggers: [],
          functions: [],
          invalidIndexes: [],
          versionSchemas: [schemaOf(INIT.name)],
        });
        // What the engine's rollback put aside is kept on purpose and recorded; the
        // table the fixture's raw_sql rollback renamed by hand is not — and is seen.
        expect(after.unrecordedInternal).toEqual(["_ss_rb_audit."]);
        expect(after.aside.filter((a) => !after.unrecordedInternal.includes(a)).length).toBeGreaterThan(0);
      } finally {
        await engine.close();
      }
    });
  });
});
