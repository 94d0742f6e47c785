import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { convert } from "../../../../cli/actions/migrate-convert";
import type { CliContext } from "../../../../cli/context";
import { parseMigrationText } from "../../../../lib/migrations/file-format";

function run(sql: string, json = false) {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "convert-")), "0002_x.sql");
  fs.writeFileSync(file, sql);
  const out: string[] = [];
  const err: string[] = [];
  const ctx: CliContext = {
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    color: false,
    exitCode: 0,
  };
  return convert(ctx, file, { json }).then(() => ({
    code: ctx.exitCode,
    out: out.join("\n"),
    err: err.join("\n"),
    file,
  }));
}

describe("shipshape migrate convert", () => {
  it("prints a migration file's YAML and exits 0 when everything converts", async () => {
    const r = await run(
      "ALTER TABLE products RENAME CONSTRAINT a TO b;\nCOMMENT ON TABLE products IS 'x';\n",
    );
    expect(r.code).toBe(0);
    expect(r.err).toBe("");
    // What it prints is a migration file the engine loads as is.
    expect(parseMigrationText(r.out, "0002_x.yaml").operations).toEqual([
      { rename_constraint: { table: "products", from: "a", to: "b" } },
      { set_comment: { table: "products", comment: "x" } },
    ]);
  });

  it("lists each statement it cannot convert with file:line and exits 1", async () => {
    const r = await run(
      "COMMENT ON TABLE products IS 'x';\n\nALTER TABLE products\n  ALTER COLUMN price TYPE bigint;\n",
    );
    expect(r.code).toBe(1);
    expect(parse(r.out).operations).toHaveLength(1);
    expect(r.err).toContain(`${r.file}:3: not converted: ALTER TABLE products`);
    expect(r.err).toMatch(/needs 'down'/);
  });

  it("--json gives operations and the statements left over", async () => {
    const r = await run("DROP VIEW v;", true);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out).unconverted).toEqual([
      { line: 1, statement: "DROP VIEW v", reason: expect.stringMatching(/DROP VIEW has no equivalent/) },
    ]);
  });
});
