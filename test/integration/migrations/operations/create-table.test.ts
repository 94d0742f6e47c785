import { expect } from "vitest";
import { describeOperation } from "./harness";

describeOperation("create_table", [
  {
    name: "create_table",
    operations: [
      {
        create_table: {
          table: "reviews",
          columns: [
            { name: "id", type: "bigserial", primary_key: true },
            {
              name: "product_id",
              type: "bigint",
              nullable: false,
              references: { table: "products", column: "id" },
            },
            { name: "body", type: "text", nullable: false },
          ],
        },
      },
    ],
    old: async (c) => {
      await expect(c.query("SELECT * FROM reviews")).rejects.toThrow(/does not exist/);
    },
    new: async (c) => {
      await c.query("INSERT INTO reviews (product_id, body) SELECT min(id), 'great' FROM products");
      expect((await c.query("SELECT body FROM reviews")).rows.map((r) => r.body)).toContain("great");
    },
    afterRollback: async (a) => {
      // Green's review survives, aside, and no longer constrains products.
      const r = await a.query('SELECT body FROM public."_ss_rb2_reviews"');
      expect(r.rows).toEqual([{ body: "great" }]);
      await a.query("DELETE FROM public.products WHERE id = 1");
    },
    afterComplete: async (a) => {
      expect((await a.query("SELECT count(*)::int AS n FROM public.reviews")).rows[0].n).toBeGreaterThan(0);
    },
  },
  {
    name: "create_table with a named primary key, an identity and a generated column",
    operations: [
      {
        create_table: {
          table: "invoices",
          columns: [
            { name: "id", type: "bigint", identity: { generated: "always", start: 1000 } },
            { name: "year", type: "int", nullable: false },
            { name: "net", type: "numeric(10,2)", nullable: false },
            { name: "gross", type: "numeric(10,2)", generated: "round(net * 1.2, 2)" },
          ],
          primary_key: { name: "invoices_pk", columns: ["id", "year"] },
        },
      },
    ],
    new: async (c) => {
      const r = await c.query("INSERT INTO invoices (year, net) VALUES (2026, 10) RETURNING id, gross");
      expect(Number(r.rows[0].id)).toBeGreaterThanOrEqual(1000);
      expect(r.rows[0].gross).toBe("12.00");
      await expect(c.query("INSERT INTO invoices (id, year, net) VALUES (1, 2026, 1)")).rejects.toThrow(
        /non-DEFAULT value into column "id"/,
      );
      await expect(c.query("UPDATE invoices SET gross = 0")).rejects.toThrow(
        /can only be updated to DEFAULT/,
      );
    },
    afterComplete: async (a) => {
      const pk = await a.query(
        "SELECT conname FROM pg_constraint WHERE conrelid = 'public.invoices'::regclass AND contype = 'p'",
      );
      expect(pk.rows).toEqual([{ conname: "invoices_pk" }]);
      const cols = await a.query(
        `SELECT attname, attidentity, attgenerated FROM pg_attribute
          WHERE attrelid = 'public.invoices'::regclass AND attname IN ('id', 'gross') ORDER BY attname`,
      );
      expect(cols.rows).toEqual([
        { attname: "gross", attidentity: "", attgenerated: "s" },
        { attname: "id", attidentity: "a", attgenerated: "" },
      ]);
    },
  },
]);
