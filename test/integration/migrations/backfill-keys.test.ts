/**
 * The backfill's keyset over a composite primary key: its upper bound and
 * cursor must be the largest key in (a, b) order, or rows past a wrong bound
 * are never filled (their shadow stays NULL and complete cannot validate).
 */
import { describe, expect, it } from "vitest";
import type { MigrationDefinition } from "../../../lib/migrations/file-format";
import { admin, engineFor, schemaOf, withClient, withDb } from "./helpers";

const LINES: MigrationDefinition = {
  name: "01_lines",
  operations: [
    {
      create_table: {
        table: "lines",
        primary_key: ["order_id", "line_no"],
        columns: [
          { name: "order_id", type: "bigint" },
          { name: "line_no", type: "int" },
          { name: "quantity", type: "int", nullable: false },
        ],
      },
    },
  ],
};

describe("backfill over a composite primary key", () => {
  it("fills every row, in batches, up to the largest (a, b)", async () => {
    await withDb("bfkey", async (url) => {
      const e = engineFor(url, { backfill: { batchSize: 4, delayMs: 0 } });
      const a = await admin(url);
      try {
        await e.start(LINES);
        await e.complete(LINES.name);
        await withClient(url, schemaOf("01_lines"), (c) =>
          c.query(
            "INSERT INTO lines SELECT o, l, o * 10 + l FROM generate_series(1, 10) o, generate_series(1, 3) l",
          ),
        );
        const started = await e.start({
          name: "02_quantity_bigint",
          operations: [
            {
              change_type: {
                table: "lines",
                column: "quantity",
                type: "bigint",
                up: "quantity",
                down: "quantity",
              },
            },
          ],
        });
        expect(started.backfill).toEqual([{ table: "lines", rowsDone: 30, batches: 8, done: true }]);
        const bound = await a.query("SELECT upper_bound FROM shipshape_migrations.backfills");
        expect(bound.rows).toEqual([{ upper_bound: ["10", "3"] }]);
        const unfilled = await a.query(
          'SELECT count(*)::int AS n FROM lines WHERE "_ss_new_quantity" IS DISTINCT FROM quantity',
        );
        expect(unfilled.rows[0].n).toBe(0);
      } finally {
        await a.end();
        await e.close();
      }
    });
  });
});
