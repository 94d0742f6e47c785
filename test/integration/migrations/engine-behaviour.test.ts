/**
 * Engine behaviour against a real PostgreSQL: one migration at a time,
 * lock_timeout + retries instead of queueing production traffic, no lost
 * writes from either version during backfill, the verify gate, phase rules,
 * purge of put-aside data, role-based version selection, and the sample
 * shop's failing migration.
 */
import path from "node:path";
import { Client } from "pg";
import { describe, expect, it } from "vitest";
import type { MigrationDefinition } from "../../../lib/migrations/file-format";
import { loadMigrationsDir } from "../../../lib/migrations/file-format";
import { seededShop } from "./fixtures/shop";
import { admin, engineFor, leftovers, schemaOf, withClient, withDb } from "./helpers";

const CENTS: MigrationDefinition = {
  name: "0002_cents",
  operations: [
    { rename_column: { table: "products", from: "name", to: "title" } },
    {
      change_type: {
        table: "products",
        column: "price",
        name: "price_cents",
        type: "bigint",
        up: "(price * 100)::bigint",
        down: "price_cents / 100.0",
      },
    },
  ],
};

describe("one migration at a time", () => {
  it("refuses a second migration while one is active, naming it", async () => {
    await withDb("two", async (url) => {
      await seededShop(url);
      const e = engineFor(url);
      try {
        await e.start(CENTS);
        const other: MigrationDefinition = {
          name: "0003_other",
          operations: [{ create_index: { name: "p_sku", table: "products", columns: ["sku"] } }],
        };
        await expect(e.start(other)).rejects.toMatchObject({
          code: "ANOTHER_ACTIVE",
          message: expect.stringMatching(/cannot start '0003_other': migration '0002_cents' is active/),
        });
        // After completing the first, the second starts.
        await e.complete("0002_cents");
        expect((await e.start(other)).phase).toBe("active");
      } finally {
        await e.close();
      }
    });
  });

  it("serialises commands with an advisory lock: a concurrent command waits, then fails BUSY", async () => {
    await withDb("busy", async (url) => {
      await seededShop(url, 200);
      const slow = engineFor(url, { backfill: { batchSize: 5, delayMs: 20 } });
      const impatient = engineFor(url, { commandLockWaitMs: 300 });
      try {
        const started = slow.start(CENTS);
        await new Promise((r) => setTimeout(r, 300));
        await expect(impatient.rollback("0002_cents")).rejects.toMatchObject({
          code: "BUSY",
          retryable: true,
        });
        expect((await started).phase).toBe("active");
      } finally {
        await slow.close();
        await impatient.close();
      }
    });
  });
});

describe("DDL behind a long transaction", () => {
  it("times out and retries instead of queueing production queries behind it", async () => {
    await withDb("lock", async (url) => {
      await seededShop(url);
      const holder = await admin(url);
      const prod = await admin(url);
      const logs: string[] = [];
      const e = engineFor(url, {
        lockTimeoutMs: 150,
        ddlRetries: 40,
        retryBaseDelayMs: 50,
        retryMaxDelayMs: 200,
        log: (m) => logs.push(m),
      });
      try {
        // A long transaction (e.g. a report) holds a lock the ALTER TABLE conflicts with.
        await holder.query("BEGIN");
        await holder.query("SELECT count(*) FROM products");
        const migration = e.start({
          name: "0002_stock",
          operations: [
            { add_column: { table: "products", column: { name: "stock", type: "int", default: "0" } } },
          ],
        });
        // Production keeps querying while the migration is blocked.
        const latencies: number[] = [];
        const until = Date.now() + 1500;
        while (Date.now() < until) {
          const t = Date.now();
          await prod.query("SELECT count(*) FROM products");
          latencies.push(Date.now() - t);
          await new Promise((r) => setTimeout(r, 20));
        }
        await holder.query("COMMIT");
        const result = await migration;
        expect(result.phase).toBe("active");
        expect(logs.filter((l) => /lock not available/.test(l)).length).toBeGreaterThan(2);
        // Never queued longer than one lock_timeout (+ scheduling slack on a shared 2-core machine).
        expect(Math.max(...latencies)).toBeLessThan(150 + 250);
        expect(latencies.length).toBeGreaterThan(10);
      } finally {
        await holder.end();
        await prod.end();
        await e.close();
      }
    });
  });

  it("control: the same ALTER without lock_timeout does queue production queries behind it", async () => {
    await withDb("lockctl", async (url) => {
      await seededShop(url);
      const holder = await admin(url);
      const ddl = await admin(url);
      const prod = await admin(url);
      try {
        await holder.query("BEGIN");
        await holder.query("SELECT count(*) FROM products");
        const alter = ddl.query("ALTER TABLE products ADD COLUMN stock int");
        await new Promise((r) => setTimeout(r, 100));
        const t = Date.now();
        const q = prod.query("SELECT count(*) FROM products");
        await new Promise((r) => setTimeout(r, 700));
        await holder.query("COMMIT");
        await q;
        await alter;
        expect(Date.now() - t).toBeGreaterThanOrEqual(650);
      } finally {
        await holder.end();
        await ddl.end();
        await prod.end();
      }
    });
  });

  it("gives up with a retryable LOCK_TIMEOUT after its retries, and a rerun resumes", async () => {
    await withDb("lockfail", async (url) => {
      await seededShop(url);
      const holder = await admin(url);
      const e = engineFor(url, { lockTimeoutMs: 50, ddlRetries: 2, retryBaseDelayMs: 10 });
      try {
        await holder.query("BEGIN");
        await holder.query("LOCK TABLE products IN ACCESS SHARE MODE");
        await expect(e.start(CENTS)).rejects.toMatchObject({ code: "LOCK_TIMEOUT", retryable: true });
        expect((await e.status()).active?.phase).toBe("starting");
        await holder.query("COMMIT");
        expect((await e.start(CENTS)).phase).toBe("active");
      } finally {
        await holder.end();
        await e.close();
      }
    });
  });
});

describe("backfill under concurrent writes from both versions", () => {
  it("loses nothing and keeps both columns consistent", async () => {
    await withDb("conc", async (url) => {
      await seededShop(url, 2000);
      const e = engineFor(url, { backfill: { batchSize: 50, delayMs: 2 } });
      const oldC = await new Client({
        connectionString: url,
        options: `-c search_path=${schemaOf("0001_init")}`,
      });
      await oldC.connect();
      const newC = await new Client({
        connectionString: url,
        options: `-c search_path=${schemaOf("0002_cents")}`,
      });
      await newC.connect();
      const expectedCents = new Map<number, number>();
      let inserted = 0;
      let running = true;
      try {
        const started = e.start(CENTS).finally(() => {
          running = false;
        });
        const oldWriter = (async () => {
          for (let i = 0; running || i < 20; i++) {
            const id = 1 + ((i * 2) % 2000); // odd ids belong to the old version
            const price = (i % 500) + 0.25;
            await oldC.query("UPDATE products SET price = $2 WHERE id = $1", [id, price]);
            expectedCents.set(id, Math.round(price * 100));
            const r = await oldC.query("INSERT INTO products (name, price) VALUES ('old', $1) RETURNING id", [
              price,
            ]);
            expectedCents.set(Number(r.rows[0].id), Math.round(price * 100));
            inserted++;
          }
        })();
        const newWriter = (async () => {
          // The new version exists once start has created its views.
          for (;;) {
            const r = await newC.query(
              `SELECT to_regclass('${schemaOf("0002_cents")}.products') IS NOT NULL AS ok`,
            );
            if (r.rows[0].ok) break;
            await new Promise((res) => setTimeout(res, 5));
          }
          for (let i = 0; running || i < 20; i++) {
            const id = 2 + ((i * 2) % 2000); // even ids belong to the new version
            const cents = 10_000 + i;
            await newC.query("UPDATE products SET price_cents = $2 WHERE id = $1", [id, cents]);
            expectedCents.set(id, cents);
            const r = await newC.query(
              "INSERT INTO products (title, price_cents) VALUES ('new', $1) RETURNING id",
              [cents],
            );
            expectedCents.set(Number(r.rows[0].id), cents);
            inserted++;
          }
        })();
        const [result] = await Promise.all([started, oldWriter, newWriter]);
        expect(result.phase).toBe("active");
        expect(result.backfill[0]?.done).toBe(true);
        expect(inserted).toBeGreaterThan(40);

        const rows = await newC.query("SELECT id::int, price_cents::int FROM products");
        expect(rows.rowCount).toBe(2000 + inserted);
        const inconsistent = await oldC.query(
          `SELECT count(*)::int AS n FROM public.products WHERE "_ss_new_price" IS DISTINCT FROM (price * 100)::bigint`,
        );
        expect(inconsistent.rows[0].n).toBe(0);
        const byId = new Map(rows.rows.map((r) => [r.id as number, r.price_cents as number]));
        for (const [id, cents] of expectedCents) expect(byId.get(id)).toBe(cents);
        expect((await e.verify()).ok).toBe(true);
      } finally {
        running = false;
        await oldC.end();
        await newC.end();
        await e.close();
      }
    });
  });
});

describe("verify gate", () => {
  it("passes for a sound migration and fails, saying why, for unsound ones", async () => {
    await withDb("gate", async (url) => {
      await seededShop(url);
      const e = engineFor(url);
      try {
        await e.start(CENTS);
        const good = await e.verify();
        expect(good.ok).toBe(true);
        expect(good.checks.map((c) => c.name)).toEqual([
          `old version views compile (${schemaOf("0001_init")})`,
          `new version views compile (${schemaOf("0002_cents")})`,
          "round-trip probes (old ⇄ new, rolled back)",
          "backfill finished",
          "pending constraints would validate",
          "no invalid indexes",
        ]);
        await e.rollback("0002_cents");

        // Declared lossless, but down is not the inverse of up: the round trip through the new version breaks.
        await e.start({
          name: "0003_lossy",
          operations: [
            {
              change_type: {
                table: "products",
                column: "price",
                type: "bigint",
                up: "(price * 100)::bigint",
                down: "price / 10.0",
                lossless: true,
              },
            },
          ],
        });
        const lossy = await e.verify();
        expect(lossy.ok).toBe(false);
        expect(lossy.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual([
          "round-trip probes (old ⇄ new, rolled back)",
        ]);
        expect(lossy.checks.find((c) => !c.ok)?.detail).toMatch(/new → old/);
        await e.rollback("0003_lossy");

        // Existing rows violate a new check, and an index build failed.
        await e.start({
          name: "0004_cheap",
          operations: [
            { add_constraint: { type: "check", table: "products", name: "cheap", check: "price < 5" } },
          ],
        });
        const a = await admin(url);
        try {
          // A failed CREATE INDEX CONCURRENTLY leaves an INVALID index behind.
          await a.query("INSERT INTO products (name, price, sku) VALUES ('dup', 1, 'SKU-1')");
          await expect(
            a.query("CREATE UNIQUE INDEX CONCURRENTLY products_sku_u ON products (sku)"),
          ).rejects.toThrow();
        } finally {
          await a.end();
        }
        const bad = await e.verify();
        expect(bad.ok).toBe(false);
        const failed = Object.fromEntries(bad.checks.filter((c) => !c.ok).map((c) => [c.name, c.detail]));
        expect(Object.keys(failed)).toEqual(["pending constraints would validate", "no invalid indexes"]);
        expect(failed["pending constraints would validate"]).toMatch(
          /add_constraint check cheap on products: \d+ row\(s\) would fail/,
        );
        expect(failed["no invalid indexes"]).toBe("products_sku_u");
        // Verify wrote nothing.
        expect((await e.status()).active?.phase).toBe("active");
      } finally {
        await e.close();
      }
    });
  });
});

describe("phase rules, purge and role-based version selection", () => {
  it("enforces the phase machine and refuses a changed definition", async () => {
    await withDb("phase", async (url) => {
      await seededShop(url);
      const e = engineFor(url);
      try {
        await expect(e.complete("nope")).rejects.toMatchObject({ code: "NOT_FOUND" });
        await e.start(CENTS);
        await expect(
          e.start({
            ...CENTS,
            operations: [{ rename_column: { table: "products", from: "name", to: "label" } }],
          }),
        ).rejects.toMatchObject({ code: "DEFINITION_CHANGED" });
        await e.complete("0002_cents");
        await expect(e.rollback("0002_cents")).rejects.toMatchObject({ code: "INVALID_PHASE" });
        await expect(
          e.start({
            name: "0003_bad",
            operations: [{ drop_column: { table: "products", column: "missing" } }],
          }),
        ).rejects.toMatchObject({ code: "VALIDATION", message: expect.stringMatching(/products.missing/) });
        expect((await e.status()).active).toBeNull();
      } finally {
        await e.close();
      }
    });
  });

  it("purges put-aside data only when asked and only after the retention period", async () => {
    await withDb("purge", async (url) => {
      await seededShop(url);
      const e = engineFor(url);
      try {
        await e.start(CENTS);
        await e.rollback("0002_cents");
        expect((await leftovers(url)).aside).toEqual(["products._ss_rb2_price_cents"]);
        expect((await e.purgeRolledBack({ olderThanMs: 3_600_000 })).purged).toEqual([]);
        const r = await e.purgeRolledBack({ olderThanMs: 0 });
        expect(r.purged.map((p) => `${p.table}.${p.column}`)).toEqual(["products._ss_rb2_price_cents"]);
        expect((await leftovers(url)).aside).toEqual([]);
      } finally {
        await e.close();
      }
    });
  });

  it("pins a login role to a version (what survives PgBouncer transaction pooling)", async () => {
    await withDb("role", async (url) => {
      await seededShop(url);
      const role = `app_v2_${Math.random().toString(36).slice(2, 8)}`;
      const a = await admin(url);
      await a.query(`CREATE ROLE ${role} LOGIN`);
      const e = engineFor(url, { grants: [role] });
      try {
        await e.start(CENTS);
        expect(await e.bindRole(role, "0002_cents")).toEqual({ role, searchPath: schemaOf("0002_cents") });
        const asRole = new Client({ connectionString: url.replace("postgres@", `${role}@`) });
        await asRole.connect();
        try {
          // No SET, no options: the server applies the role's default at connection start.
          expect((await asRole.query("SHOW search_path")).rows[0].search_path).toBe(schemaOf("0002_cents"));
          await asRole.query("INSERT INTO products (title, price_cents) VALUES ('via role', 123)");
          const r = await asRole.query("SELECT title, price_cents FROM products WHERE title = 'via role'");
          expect(r.rows).toEqual([{ title: "via role", price_cents: "123" }]);
        } finally {
          await asRole.end();
        }
      } finally {
        await e.close();
        await a.query(`ALTER ROLE ${role} IN DATABASE ${url.split("/").pop()} RESET ALL`);
        await a.query(`DROP OWNED BY ${role}`);
        await a.end();
      }
    });
  });
});

describe("the sample shop's migrations", () => {
  it("apply, and v3' fails mid-start and rolls back cleanly", async () => {
    await withDb("sample", async (url) => {
      const dir = path.join(__dirname, "../../../examples/shop/migrations-failing");
      const files = loadMigrationsDir(dir);
      expect(files.map((f) => f.definition.name)).toEqual([
        "0001_initial",
        "0002_title_and_cents",
        "0003_barcode",
      ]);
      const [m1, m2, m3] = files.map((f) => f.definition) as [
        MigrationDefinition,
        MigrationDefinition,
        MigrationDefinition,
      ];
      const e = engineFor(url);
      try {
        await e.start(m1);
        await e.complete(m1.name);
        await withClient(url, schemaOf("0001_initial"), async (c) => {
          await c.query("INSERT INTO products (name, price) VALUES ('Mug', 8.5), ('Tea', 3.2)");
          await c.query("INSERT INTO carts (id) VALUES ('cart-1')");
          await c.query(
            "INSERT INTO cart_items (cart_id, product_id, quantity) VALUES ('cart-1', 1, 1), ('cart-1', 2, 1)",
          );
          await c.query(
            "INSERT INTO orders (cart_id, total, items, version) VALUES ('cart-1', 11.70, 2, 'v1')",
          );
        });
        await e.start(m2);
        await withClient(url, schemaOf("0002_title_and_cents"), async (c) => {
          const r = await c.query("SELECT title, price_cents::int FROM products ORDER BY id");
          expect(r.rows).toEqual([
            { title: "Mug", price_cents: 850 },
            { title: "Tea", price_cents: 320 },
          ]);
          expect((await c.query("SELECT total_cents::int FROM orders")).rows[0].total_cents).toBe(1170);
        });
        expect((await e.verify()).ok).toBe(true);
        await e.complete(m2.name);

        await expect(e.start(m3)).rejects.toThrow(/relation "order_lines" does not exist/);
        const st = await e.status();
        expect(st.active).toMatchObject({ name: "0003_barcode", phase: "starting" });
        expect(st.active?.lastError).toMatch(/order_lines/);
        await withClient(url, schemaOf("0002_title_and_cents"), async (c) => {
          await c.query("INSERT INTO products (title, price_cents) VALUES ('Pen', 199)");
        });
        await e.rollback("0003_barcode");
        const left = await leftovers(url);
        expect(left.versionSchemas).toEqual([schemaOf("0002_title_and_cents")]);
        expect(left.triggers).toEqual([]);
        expect(left.aside).toEqual(["products._ss_rb3_barcode"]);
        const a = await admin(url);
        try {
          expect(
            (await a.query("SELECT to_regclass('public.products_barcode_idx') AS i")).rows[0].i,
          ).toBeNull();
        } finally {
          await a.end();
        }
      } finally {
        await e.close();
      }
    });
  });
});
