import { expect } from "vitest";
import { describeOperation } from "./harness";

describeOperation("drop_table", [
  {
    name: "drop_table",
    oldTraffic: false,
    operations: [{ drop_table: { table: "categories" } }],
    new: async (c) => {
      await expect(c.query("SELECT * FROM categories")).rejects.toThrow(/does not exist/);
      await c.query("INSERT INTO products (name) VALUES ('n')");
    },
    afterComplete: async (a) => {
      expect((await a.query("SELECT to_regclass('public.categories') AS t")).rows[0].t).toBeNull();
    },
  },
]);
