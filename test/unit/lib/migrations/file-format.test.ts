import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { prepare } from "../../../../lib/migrations/engine";
import {
  loadMigrationsDir,
  MigrationFileError,
  parseMigrationText,
  validateMigrationObject,
} from "../../../../lib/migrations/file-format";
import { mentionedIdentifiers } from "../../../../lib/migrations/sql";
import { versionSchemaName } from "../../../../lib/migrations/versioned-schema";

function issues(text: string, file = "migrations/0002_x.yaml") {
  try {
    parseMigrationText(text, file);
  } catch (err) {
    if (err instanceof MigrationFileError) return err.issues;
    throw err;
  }
  throw new Error("expected an error");
}

describe("migration files", () => {
  it("parses YAML, names the migration after the file and applies defaults", () => {
    const m = parseMigrationText(
      ["operations:", "  - create_index: { name: i, table: t, columns: [a] }"].join("\n"),
      "dir/0003_index.yaml",
    );
    expect(m).toEqual({
      name: "0003_index",
      operations: [
        { create_index: { name: "i", table: "t", columns: ["a"], unique: false, method: "btree" } },
      ],
    });
  });

  it("reports a bad value with file:line:column and the key path", () => {
    const text = [
      "operations:",
      "  - rename_column: { table: products, from: name, to: title }",
      "  - change_type:",
      "      table: products",
      "      column: price",
      "      type: 42",
      "      up: price * 100",
    ].join("\n");
    const [i, j] = issues(text);
    expect(i).toMatchObject({
      file: "migrations/0002_x.yaml",
      line: 6,
      column: 13,
      path: "operations.1.change_type.type",
    });
    expect(i?.message).toMatch(/string/);
    // A missing key points at the map that lacks it.
    expect(j).toMatchObject({
      line: 4,
      column: 7,
      path: "operations.1.change_type.down",
      message: expect.stringMatching(/expected string/),
    });
  });

  it("points at an unknown operation and suggests the right one", () => {
    const text = [
      "name: m",
      "operations:",
      "  - create_table: { table: a, columns: [{ name: id, type: int }] }",
      "  - renam_column: { table: a, from: b, to: c }",
    ].join("\n");
    const [i] = issues(text);
    expect(i).toMatchObject({ line: 4, column: 5, path: "operations.1" });
    expect(i?.message).toBe("unknown operation 'renam_column'; did you mean 'rename_column'?");
  });

  it("points at an unknown key inside an operation", () => {
    const text = ["operations:", "  - drop_column:", "      table: t", "      colum: c"].join("\n");
    const found = issues(text);
    expect(found.find((x) => /unknown key 'colum'/.test(x.message))).toMatchObject({ line: 4, column: 7 });
  });

  it("reports YAML syntax errors with their position", () => {
    const [i] = issues("operations:\n  - drop_table: { table: t\n");
    expect(i?.line).toBeGreaterThanOrEqual(2);
    expect(i?.message.length).toBeGreaterThan(0);
  });

  it("requires raw SQL to state start, complete and rollback", () => {
    const found = issues("operations:\n  - raw_sql:\n      start: CREATE TABLE x (id int)\n");
    expect(found.map((x) => x.path).sort()).toEqual([
      "operations.0.raw_sql.complete",
      "operations.0.raw_sql.rollback",
    ]);
  });

  it("accepts raw SQL with only complete, and refuses a rollback without start", () => {
    expect(
      parseMigrationText("operations:\n  - raw_sql:\n      complete: DROP TABLE legacy\n", "m/0002_x.yaml")
        .operations,
    ).toEqual([{ raw_sql: { complete: "DROP TABLE legacy", transaction: true } }]);
    const found = issues("operations:\n  - raw_sql:\n      complete: DROP TABLE legacy\n      rollback: x\n");
    expect(found.map((x) => x.path)).toEqual(["operations.0.raw_sql.rollback"]);
    expect(issues("operations:\n  - raw_sql:\n      transaction: false\n").map((x) => x.path)).toEqual([
      "operations.0.raw_sql.complete",
    ]);
  });

  it("validates the issue-18 operations' definitions", () => {
    expect(
      issues(
        "operations:\n  - alter_column: { table: t, column: c, type: bigint }\n" +
          "  - alter_column: { table: t, column: d }\n" +
          "  - set_replica_identity: { table: t, identity: index }\n" +
          "  - add_constraint: { type: exclude, table: t, name: x, elements: [{ column: a, operator: '= 1; DROP' }] }\n" +
          "  - alter_column: { table: t, column: c, generated: 'a * 2' }\n",
      ).map((x) => x.path),
    ).toEqual([
      "operations.0.alter_column.up",
      "operations.0.alter_column.down",
      "operations.1.alter_column",
      "operations.2.set_replica_identity.index",
      "operations.3.add_constraint.elements.0.operator",
      "operations.4.alter_column",
    ]);
    expect(
      parseMigrationText(
        "operations:\n  - set_comment: { table: t, column: c, comment: null }\n" +
          "  - rename_constraint: { table: t, from: a, to: b }\n" +
          "  - alter_column: { table: t, column: c, nullable: false, up: 'COALESCE(c, 0)', default: '0', unique: true }\n" +
          "  - create_index: { name: i, table: t, columns: [a, { name: b, opclass: text_pattern_ops, sort: desc, nulls: last }], include: [c], storage_parameters: { fillfactor: 70 } }\n" +
          "  - create_table: { table: n, columns: [{ name: id, type: bigint, identity: { generated: always } }], primary_key: { name: n_pk, columns: [id] } }\n",
        "m/0002_x.yaml",
      ).operations,
    ).toHaveLength(5);
  });

  it("loads a folder in file-name order and refuses duplicate names", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ssmig-"));
    fs.writeFileSync(path.join(dir, "0002_b.yaml"), "operations:\n  - drop_table: { table: b }\n");
    fs.writeFileSync(
      path.join(dir, "0001_a.json"),
      JSON.stringify({ operations: [{ drop_table: { table: "a" } }] }),
    );
    fs.writeFileSync(path.join(dir, "notes.txt"), "ignored");
    expect(loadMigrationsDir(dir).map((m) => m.definition.name)).toEqual(["0001_a", "0002_b"]);
    fs.writeFileSync(
      path.join(dir, "0003_c.yaml"),
      "name: 0001_a\noperations:\n  - drop_table: { table: c }\n",
    );
    expect(() => loadMigrationsDir(dir)).toThrow(/migration name '0001_a' is also used by/);
    fs.rmSync(dir, { recursive: true });
  });

  it("the shop's sample migrations are valid", () => {
    const root = path.join(__dirname, "../../../../examples/shop");
    expect(loadMigrationsDir(path.join(root, "migrations")).map((m) => m.definition.name)).toEqual([
      "0001_initial",
      "0002_title_and_cents",
    ]);
    expect(loadMigrationsDir(path.join(root, "migrations-failing"))).toHaveLength(3);
  });
});

describe("planning a migration against the old version's model", () => {
  const base = {
    tables: [
      {
        name: "products",
        physical: "products",
        columns: ["id", "name", "price"].map((c) => ({ name: c, physical: c })),
      },
    ],
  };
  const plan = (operations: unknown[]) => {
    const r = validateMigrationObject({ name: "m", operations });
    if (!r.ok) throw new Error(JSON.stringify(r.issues));
    return prepare(r.definition, base);
  };

  it("maps the new version's names onto physical columns", () => {
    const p = plan([
      { rename_column: { table: "products", from: "name", to: "title" } },
      { change_type: { table: "products", column: "price", type: "bigint", up: "price", down: "price" } },
      { rename_table: { from: "products", to: "items" } },
    ]);
    expect(p.models.at(-1)).toEqual({
      tables: [
        {
          name: "items",
          physical: "products",
          columns: [
            { name: "id", physical: "id" },
            { name: "title", physical: "name" },
            { name: "price", physical: "_ss_new_price" },
          ],
        },
      ],
    });
  });

  it("refuses unknown references and two changes to one column", () => {
    expect(() => plan([{ drop_column: { table: "products", column: "nope" } }])).toThrow(
      "drop_column: column 'products.nope' does not exist",
    );
    expect(() =>
      plan([
        { rename_column: { table: "products", from: "price", to: "cost" } },
        { set_not_null: { table: "products", column: "price", up: "0" } },
      ]),
    ).toThrow(/changes 'products.price', which operation 1 already changes/);
  });
});

describe("names", () => {
  it("derives version schema names within PostgreSQL's limit", () => {
    expect(
      versionSchemaName({ service: "shop", environment: "", migration: "0002_Title-and cents" }),
    ).toMatch(/^shop_0002_title_and_cents_[0-9a-f]{16}$/);
    const long = versionSchemaName({ service: "shop", environment: "prod", migration: "x".repeat(80) });
    expect(Buffer.byteLength(long)).toBeLessThanOrEqual(63);
  });

  it("finds the identifiers an expression mentions, ignoring string literals", () => {
    expect([...mentionedIdentifiers(`coalesce("Name", 'price') || lower(sku)`)].sort()).toEqual(
      ["Name", "coalesce", "lower", "sku"].sort(),
    );
  });
});

describe("SQL fragments are exactly one statement (issue 16, item 5)", () => {
  const file = "migrations/0002_x.yaml";
  const addColumn = (column: string) =>
    ["operations:", "  - add_column:", "      table: users", `      column: ${column}`].join("\n");

  it("refuses a type that carries a second statement, with file and line", () => {
    const [i] = issues(addColumn('{ name: age, type: "int; DROP TABLE users" }'), file);
    expect(i).toMatchObject({ file, line: 4, path: "operations.0.add_column.column.type" });
    expect(i?.message).toMatch(/one/);
  });

  it("refuses up/down/check/default that break out of their expression", () => {
    const cases = [
      '{ name: a, type: int, up: "1); DROP TABLE users; NEW.a := (1" }',
      '{ name: a, type: int, default: "0; DROP TABLE users" }',
      '{ name: a, type: int, check: "a > 0) NOT VALID; DROP TABLE users; --" }',
      '{ name: a, type: int, check: "a > 0) --" }',
      '{ name: a, type: int, default: "\'unterminated" }',
      '{ name: a, type: "int /* never closed" }',
    ];
    for (const c of cases) {
      const found = issues(addColumn(c), file);
      expect(found.length, c).toBeGreaterThan(0);
      expect(found[0]?.line, c).toBe(4);
    }
    const down = issues(
      [
        "operations:",
        "  - drop_column:",
        "      table: users",
        "      column: c",
        '      down: "1; DELETE FROM users"',
      ].join("\n"),
      file,
    );
    expect(down[0]).toMatchObject({ line: 5, path: "operations.0.drop_column.down" });
    const check = issues(
      [
        "operations:",
        "  - add_constraint:",
        "      type: check",
        "      table: users",
        "      name: c",
        '      check: "true); DROP TABLE users; SELECT (1"',
      ].join("\n"),
      file,
    );
    expect(check[0]).toMatchObject({ line: 6, path: "operations.0.add_constraint.check" });
  });

  it("accepts semicolons, parentheses and comment markers inside quotes, dollar quotes and identifiers", () => {
    const ok = validateMigrationObject({
      name: "ok",
      operations: [
        {
          add_column: {
            table: "users",
            column: {
              name: "a",
              type: "numeric(10, 2)[]",
              default: "';) -- not a comment'",
              check: `"we;ird" IS NULL OR a > 0 /* (; */`,
              up: '$x$ ; ) $x$ || E\'\\\'; \' || "a""b"',
            },
          },
        },
      ],
    });
    expect(ok.ok).toBe(true);
  });

  it("runs raw_sql only as one statement each (a trailing ';' is fine)", () => {
    const two = issues(
      [
        "operations:",
        "  - raw_sql:",
        "      start: CREATE TABLE audit (id int); DROP TABLE users",
        '      complete: ""',
        "      rollback: DROP TABLE audit;",
      ].join("\n"),
      file,
    );
    expect(two).toHaveLength(1);
    expect(two[0]).toMatchObject({ line: 3, path: "operations.0.raw_sql.start" });
    expect(two[0]?.message).toMatch(/2 statements/);
    const one = validateMigrationObject({
      name: "one",
      operations: [
        {
          raw_sql: {
            start: "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; $$; -- trailing comment",
            complete: "",
            rollback: "DROP FUNCTION f() ;",
          },
        },
      ],
    });
    expect(one.ok).toBe(true);
  });

  it("drops with RESTRICT unless the migration says cascade", () => {
    const r = validateMigrationObject({
      name: "d",
      operations: [
        { drop_table: { table: "a" } },
        { drop_column: { table: "b", column: "c" } },
        { drop_table: { table: "e", cascade: true } },
      ],
    });
    expect(r.ok && r.definition.operations).toEqual([
      { drop_table: { table: "a", cascade: false } },
      { drop_column: { table: "b", column: "c", cascade: false } },
      { drop_table: { table: "e", cascade: true } },
    ]);
  });
});
