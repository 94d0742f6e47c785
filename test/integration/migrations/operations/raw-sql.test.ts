import { expect } from "vitest";
import { describeOperation } from "./harness";

describeOperation("raw_sql", [
  {
    name: "raw_sql",
    operations: [
      {
        raw_sql: {
          start: "CREATE TABLE audit (id bigserial PRIMARY KEY, msg text NOT NULL)",
          complete: "COMMENT ON TABLE audit IS 'contracted'",
          rollback: "ALTER TABLE audit RENAME TO _ss_rb_audit_manual",
        },
      },
    ],
    new: async (c) => {
      await c.query("INSERT INTO audit (msg) VALUES ('hello')");
    },
    afterRollback: async (a) => {
      expect((await a.query("SELECT msg FROM public._ss_rb_audit_manual")).rows).toEqual([{ msg: "hello" }]);
      await a.query("DROP TABLE public._ss_rb_audit_manual");
    },
    afterComplete: async (a) => {
      expect((await a.query("SELECT obj_description('public.audit'::regclass) AS c")).rows[0].c).toBe(
        "contracted",
      );
    },
  },
  {
    name: "raw_sql with only complete",
    operations: [
      { add_column: { table: "products", column: { name: "legacy_code", type: "text" } } },
      { raw_sql: { complete: "UPDATE products SET legacy_code = 'L-' || id WHERE legacy_code IS NULL" } },
    ],
    new: async (c) => {
      await c.query("INSERT INTO products (name) VALUES ('New')");
    },
    afterCompleteNew: async (c) => {
      const r = await c.query("SELECT count(*)::int AS n FROM products WHERE legacy_code IS NULL");
      expect(r.rows[0].n).toBe(0);
    },
    afterRollback: async (a) => {
      // Nothing ran: the added column went aside untouched by the complete-only SQL.
      const r = await a.query(
        "SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = 'products' AND column_name = 'legacy_code'",
      );
      expect(r.rows[0].n).toBe(0);
    },
    afterComplete: async (a) => {
      const r = await a.query("SELECT legacy_code FROM public.products WHERE id = 1");
      expect(r.rows[0].legacy_code).toBe("L-1");
    },
  },
]);
