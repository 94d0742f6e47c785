import { expect } from "vitest";
import { describeOperation } from "./harness";

describeOperation("rename_table", [
  {
    name: "rename_table",
    oldTraffic: false,
    operations: [{ rename_table: { from: "categories", to: "groups" } }],
    new: async (c) => {
      await c.query("INSERT INTO groups (title) VALUES ('via-new')");
      expect((await c.query("SELECT count(*)::int AS n FROM groups")).rows[0].n).toBeGreaterThanOrEqual(3);
    },
    afterComplete: async (a) => {
      expect((await a.query("SELECT to_regclass('public.groups') IS NOT NULL AS ok")).rows[0].ok).toBe(true);
      expect((await a.query("SELECT to_regclass('public.categories') AS t")).rows[0].t).toBeNull();
    },
  },
]);
