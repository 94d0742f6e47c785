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
]);
