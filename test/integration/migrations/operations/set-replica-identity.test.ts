import { expect } from "vitest";
import { describeOperation } from "./harness";

const identity = async (a: import("pg").Client, table: string) =>
  (await a.query("SELECT relreplident FROM pg_class WHERE oid = $1::regclass", [`public.${table}`])).rows[0]
    .relreplident;

describeOperation("set_replica_identity", [
  {
    name: "set_replica_identity full, and index on a new unique index",
    operations: [
      { set_replica_identity: { table: "products", identity: "full" } },
      { create_index: { name: "categories_id_uidx", table: "categories", columns: ["id"], unique: true } },
      { set_replica_identity: { table: "categories", identity: "index", index: "categories_id_uidx" } },
    ],
    new: async (c) => {
      await c.query("UPDATE products SET name = name WHERE id = 1");
    },
    afterRollback: async (a) => {
      expect(await identity(a, "products")).toBe("d");
      expect(await identity(a, "categories")).toBe("d");
    },
    afterComplete: async (a) => {
      expect(await identity(a, "products")).toBe("f");
      expect(await identity(a, "categories")).toBe("i");
      const r = await a.query(
        "SELECT indisreplident FROM pg_index WHERE indexrelid = 'public.categories_id_uidx'::regclass",
      );
      expect(r.rows[0].indisreplident).toBe(true);
    },
  },
]);
