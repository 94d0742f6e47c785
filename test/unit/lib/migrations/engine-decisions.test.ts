/**
 * The engine's pure decisions: in which order start runs operations, where
 * a name in a constraint lands, and what `status` tells an operator about an
 * unfinished migration.
 */
import { describe, expect, it } from "vitest";
import { startOrder } from "../../../../lib/migrations/commands/start";
import { operationContext } from "../../../../lib/migrations/commands/step-runner";
import { prepare } from "../../../../lib/migrations/engine";
import type { MigrationDefinition } from "../../../../lib/migrations/file-format";
import { canRollBack, contracted, nextStep } from "../../../../lib/migrations/next-step";
import { finalPhysical, type SchemaModel } from "../../../../lib/migrations/types";

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

function order(operations: MigrationDefinition["operations"]): string[] {
  const prepared = prepare({ name: "02_x", operations }, BASE);
  const noEffects = {
    step: async () => undefined,
    stepOutsideTransaction: async () => undefined,
    isDone: () => false,
    recordAside: async () => undefined,
    inspect: async () => {
      throw new Error("no database here");
    },
  };
  const row = { id: 2, name: "02_x", baseSchema: "public" } as Parameters<typeof operationContext>[0];
  const ctxs = prepared.ops.map((_, i) => operationContext(row, prepared, i, noEffects));
  return startOrder(ctxs, prepared.ops).map((i) => Object.keys(operations[i]!)[0]!);
}

const check = {
  add_constraint: { type: "check", table: "posts", name: "title_length", check: "length(title) > 3" },
};
const changeTitle = {
  change_type: { table: "posts", column: "title", type: "text", up: "title", down: "title" },
};

describe("start order", () => {
  it("starts a check after the operation that shadows its column, whatever the file's order", () => {
    expect(order([changeTitle, check])).toEqual(["change_type", "add_constraint"]);
    expect(order([check, changeTitle])).toEqual(["change_type", "add_constraint"]);
  });

  it("keeps the file's order when nothing waits for a shadow", () => {
    const index = { create_index: { name: "posts_title_idx", table: "posts", columns: ["title"] } };
    const bodyNotNull = { set_not_null: { table: "posts", column: "body", up: "coalesce(body, '')" } };
    expect(order([index, bodyNotNull])).toEqual(["create_index", "set_not_null"]);
    expect(order([index, changeTitle])).toEqual(["change_type", "create_index"]);
  });
});

describe("where a column lands in the new version", () => {
  it("is the column itself, its shadow, or nothing when the migration drops it", () => {
    const final = prepare(
      { name: "02_x", operations: [changeTitle, { drop_column: { table: "posts", column: "body" } }] },
      BASE,
    ).models.at(-1)!;
    expect(finalPhysical(final, "posts", "id")).toBe("id");
    expect(finalPhysical(final, "posts", "title")).toBe("_ss_new_title");
    expect(finalPhysical(final, "posts", "body")).toBeUndefined();
  });
});

describe("what status advises", () => {
  it("allows rollback from completing only until a contract step has committed", () => {
    const prepared = ["validate:0:change_type", "complete:drop-old-schemas"];
    expect(contracted(prepared)).toBe(false);
    expect(canRollBack("completing", prepared)).toBe(true);
    expect(contracted([...prepared, "complete:0:change_type:swap"])).toBe(true);
    expect(canRollBack("completing", [...prepared, "complete:0:change_type:swap"])).toBe(false);
    expect(canRollBack("completing", [...prepared, "complete:views"])).toBe(false);
    expect(canRollBack("rolling_back", [])).toBe(true);
    expect(canRollBack("completed", [])).toBe(false);
  });

  it("names the command to run for each unfinished phase, and nothing once final", () => {
    const next = (
      phase: Parameters<typeof nextStep>[0]["phase"],
      lastError: string | null,
      rollback: boolean,
    ) => nextStep({ phase, lastError, canRollBack: rollback });
    expect(next("starting", "boom", true)).toMatch(
      /run `shipshape migrate start` again, or run `shipshape migrate rollback`$/,
    );
    expect(next("active", null, true)).toMatch(/^both versions are served; run `shipshape migrate verify`/);
    expect(next("active", "check violated", true)).toMatch(/^complete failed before contracting anything/);
    expect(next("completing", null, true)).toMatch(/or run `shipshape migrate rollback` \(it restores/);
    expect(next("completing", null, false)).toMatch(/\(rollback is no longer possible\)$/);
    expect(next("rolling_back", null, true)).toMatch(/run `shipshape migrate rollback` again/);
    expect(next("completed", null, false)).toBe("");
    expect(next("rolled_back", null, false)).toBe("");
  });
});

describe("issue-18 operations against the model", () => {
  it("refuses identity and generated columns on an existing table, saying why", () => {
    for (const column of [
      { name: "n", type: "bigint", identity: { generated: "always" } },
      { name: "n", type: "int", generated: "length(title)" },
    ]) {
      expect(() =>
        prepare({ name: "02_x", operations: [{ add_column: { table: "posts", column } }] }, BASE),
      ).toThrow(/can only be added by create_table: adding one to an existing table rewrites it/);
    }
  });

  it("alter_column counts as one change to its column", () => {
    expect(() =>
      prepare(
        {
          name: "02_x",
          operations: [
            { alter_column: { table: "posts", column: "title", nullable: false, up: "COALESCE(title, '')" } },
            { rename_column: { table: "posts", from: "title", to: "headline" } },
          ],
        },
        BASE,
      ),
    ).toThrow(/one change per column/);
    const p = prepare(
      {
        name: "02_x",
        operations: [
          {
            alter_column: {
              table: "posts",
              column: "title",
              name: "headline",
              type: "varchar(80)",
              up: "left(title, 80)",
              down: "headline",
              check: "headline <> ''",
            },
          },
        ],
      },
      BASE,
    );
    expect(p.models[1]!.tables[0]!.columns.find((c) => c.name === "headline")).toEqual({
      name: "headline",
      physical: "_ss_new_title",
    });
  });
});
