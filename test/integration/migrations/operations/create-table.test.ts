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
]);
