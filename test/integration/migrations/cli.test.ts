/** `shipshape migrate …` end to end against a real PostgreSQL, with the shop's sample migrations. */
import path from "node:path";
import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { registerMigrateCommand } from "../../../cli/commands/migrate";
import type { CliContext } from "../../../cli/context";
import { schemaOf, withDb } from "./helpers";

const SHOP = path.join(__dirname, "../../../examples/shop");

async function cli(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const ctx: CliContext = {
    stdout: (s) => out.push(s),
    stderr: (s) => err.push(s),
    color: false,
    exitCode: 0,
  };
  const program = new Command("shipshape").exitOverride();
  registerMigrateCommand(program, ctx);
  await program.parseAsync(["node", "shipshape", "migrate", ...args]);
  return { code: ctx.exitCode, out: out.join("\n"), err: err.join("\n") };
}

describe("shipshape migrate", () => {
  it("start → verify → rollback → start → complete → purge, and a failing migration exits 1", async () => {
    await withDb("cli", async (url) => {
      const dir = path.join(SHOP, "migrations");
      const db = ["--database-url", url, "--dir", dir];
      const started = await cli("start", ...db);
      expect(started).toMatchObject({ code: 0 });
      expect(started.out).toMatch(
        /0001_initial: complete ran \d+ step\(s\); phase completed; version schema shop_0001_initial_[0-9a-f]{16}/,
      );
      expect(started.out).toMatch(/0002_title_and_cents: start ran \d+ step\(s\); phase active/);

      const status = await cli("status", "--json", ...db);
      expect(JSON.parse(status.out)).toMatchObject({
        active: { name: "0002_title_and_cents", phase: "active" },
        versionSchemas: [schemaOf("0001_initial"), schemaOf("0002_title_and_cents")],
        pending: ["0002_title_and_cents"],
      });
      expect(await cli("verify", ...db)).toMatchObject({ code: 0, out: expect.stringMatching(/ready/) });
      expect((await cli("rollback", ...db)).out).toMatch(/phase rolled_back/);
      expect((await cli("start", ...db)).out).toMatch(/0002_title_and_cents: start .* phase active/);
      expect((await cli("complete", ...db)).out).toMatch(
        /phase completed; version schema shop_0002_title_and_cents_[0-9a-f]{16}/,
      );
      expect((await cli("start", ...db)).out).toBe("nothing pending");
      expect((await cli("purge", "--older-than", "0s", ...db)).out).toMatch(
        /purged .*products._ss_rb2_price_cents \(was price_cents\)/,
      );

      const failing = await cli(
        "start",
        "--database-url",
        url,
        "--dir",
        path.join(SHOP, "migrations-failing"),
      );
      expect(failing.code).toBe(1);
      expect(failing.err).toMatch(/relation "order_lines" does not exist/);
      // The text status says what happened to the unfinished migration and which command to run.
      const stuck = await cli("status", ...db);
      expect(stuck.out).toMatch(
        /0003_barcode +starting[^\n]*\n +last error: [^\n]*order_lines[^\n]*\n +next: start stopped part-way; fix the cause and run `shipshape migrate start` again, or run `shipshape migrate rollback`/,
      );
      expect((await cli("rollback", ...db)).out).toMatch(/0003_barcode: rollback .* phase rolled_back/);
    });
  });

  it("start --together: the folder's pending migrations as one attempt, none completed; status says so", async () => {
    await withDb("cli", async (url) => {
      const db = ["--database-url", url, "--dir", path.join(SHOP, "migrations")];
      const started = await cli("start", "--together", ...db);
      expect(started.out).toMatch(
        new RegExp(
          `^0002_title_and_cents: start ran \\d+ step\\(s\\); phase active; version schema ${schemaOf("0002_title_and_cents")};`,
          "m",
        ),
      );
      const status = await cli("status", ...db);
      expect(status.out).toMatch(
        new RegExp(
          `0001_initial +active +${schemaOf("0002_title_and_cents")} \\(one attempt with 0002_title_and_cents\\)`,
        ),
      );
      expect(status.out).toMatch(
        new RegExp(
          `0002_title_and_cents +active +${schemaOf("0002_title_and_cents")} \\(one attempt with 0001_initial\\)`,
        ),
      );
      expect(JSON.parse((await cli("status", "--json", ...db)).out)).toMatchObject({
        migrations: [
          { name: "0001_initial", phase: "active", together: ["0001_initial", "0002_title_and_cents"] },
          {
            name: "0002_title_and_cents",
            phase: "active",
            together: ["0001_initial", "0002_title_and_cents"],
          },
        ],
        pending: ["0001_initial", "0002_title_and_cents"],
      });
      expect((await cli("complete", ...db)).out).toMatch(/0002_title_and_cents: complete .* phase completed/);
      expect((await cli("status", ...db)).out).toMatch(/nothing pending/);
    });
  });

  it("reports bad files with file:line:column and exits 2", async () => {
    const r = await cli(
      "start",
      "--database-url",
      "postgres://127.0.0.1:1/none",
      "--dir",
      path.join(__dirname, "fixtures", "bad-migrations"),
    );
    expect(r.code).toBe(2);
    expect(r.err).toMatch(
      /0001_bad\.yaml:3:5: operations\.0: unknown operation 'create_tabel'; did you mean 'create_table'\?/,
    );
  });
});
