/**
 * Several migrations started together as one attempt, without a database:
 * the one definition they run as, the errors that name the file to move to
 * a later release, and the new version's view of a table the attempt both
 * creates and changes.
 */
import { describe, expect, it } from "vitest";
import { mergeDefinitions, prepare, prepareTogether } from "../../../../../lib/migrations/commands/prepare";
import { reconcileWithCatalog } from "../../../../../lib/migrations/commands/start";
import type { MigrationDefinition } from "../../../../../lib/migrations/file-format";
import type { SchemaModel } from "../../../../../lib/migrations/types";

const BASE: SchemaModel = {
  tables: [
    {
      name: "posts",
      physical: "posts",
      columns: [
        { name: "id", physical: "id" },
        { name: "title", physical: "title" },
        { name: "body", physical: "body" },
      ],
    },
  ],
};
const ADD: MigrationDefinition = {
  name: "0002_summary",
  operations: [{ add_column: { table: "posts", column: { name: "summary", type: "text" } } }],
};
const RENAME: MigrationDefinition = {
  name: "0003_headline",
  operations: [{ rename_column: { table: "posts", from: "title", to: "headline" } }],
};
const DROP_BODY: MigrationDefinition = {
  name: "0004_drop_body",
  operations: [{ drop_column: { table: "posts", column: "body" } }],
};

describe("migrations started together", () => {
  it("run as one definition: the last one's name, every operation in order", () => {
    const merged = mergeDefinitions([ADD, RENAME, DROP_BODY]);
    expect(merged.name).toBe("0004_drop_body");
    expect(merged.operations.map((o) => Object.keys(o)[0])).toEqual([
      "add_column",
      "rename_column",
      "drop_column",
    ]);
    // Each later migration sees the earlier ones' names.
    const model = prepareTogether([ADD, RENAME, DROP_BODY], BASE).models.at(-1)!;
    expect(model.tables[0]!.columns.map((c) => `${c.name}:${c.physical}`)).toEqual([
      "id:id",
      "headline:title",
      "summary:summary",
    ]);
    expect(prepare(merged, BASE).models.at(-1)).toEqual(model);
  });

  it("two of them changing one column are refused, naming both files and what to do", () => {
    const retitle: MigrationDefinition = {
      name: "0005_retitle",
      operations: [{ rename_column: { table: "posts", from: "title", to: "name" } }],
    };
    expect(() => prepareTogether([ADD, RENAME, retitle], BASE)).toThrow(
      /^operation 1 of 0005_retitle \(rename column posts.title to name\) changes 'posts.title', which operation 1 of 0003_headline already changes; .*deploy the later migration in a later release$/,
    );
  });

  it("an operation naming what an earlier one removed says which file it is in", () => {
    const bodyAgain: MigrationDefinition = {
      name: "0005_body_again",
      operations: [{ set_default: { table: "posts", column: "body", default: "'x'" } }],
    };
    expect(() => prepareTogether([ADD, DROP_BODY, bodyAgain], BASE)).toThrow(
      /^operation 1 of 0005_body_again: .*'posts.body' does not exist/,
    );
  });

  it("the new version's view leaves out a column the attempt created and a later operation hid", () => {
    const created: MigrationDefinition = {
      name: "0001_posts",
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
      ],
    };
    const prepared = prepareTogether(
      [created, { name: "0002_no_body", operations: [{ drop_column: { table: "notes", column: "body" } }] }],
      { tables: [] },
    );
    // What the catalog holds after start: the dropped column is still there (complete drops it).
    const catalog: SchemaModel = {
      tables: [
        {
          name: "notes",
          physical: "notes",
          columns: [
            { name: "id", physical: "id" },
            { name: "body", physical: "body" },
            { name: "made_by_raw_sql", physical: "made_by_raw_sql" },
          ],
        },
      ],
    };
    const next = prepared.models.at(-1)!;
    const view = reconcileWithCatalog(next, prepared.models[0]!, catalog, prepared.models.slice(1));
    expect(view.tables[0]!.columns.map((c) => c.name)).toEqual(["id", "made_by_raw_sql"]);
    // Without the operations' models the dropped column came back as if raw SQL had made it.
    expect(
      reconcileWithCatalog(next, prepared.models[0]!, catalog).tables[0]!.columns.map((c) => c.name),
    ).toEqual(["id", "body", "made_by_raw_sql"]);
  });
});
