/**
 * The per-operation matrix (real PostgreSQL), after pgroll's:
 *   start → old and new clients read and write → rollback → nothing left but
 *   put-aside data, old client unaffected → start again → complete → new
 *   client works, old objects gone.
 * Each `<operation>.test.ts` runs its cases through `describeOperation`; every
 * case gets its own database on the run's PostgreSQL cluster.
 */
import type { Client } from "pg";
import { describe, expect, it } from "vitest";
import type { MigrationDefinition } from "../../../../lib/migrations/file-format";
import { admin, engineFor, leftovers, schemaOf, withClient, withDb } from "../helpers";

const INIT: MigrationDefinition = {
  name: "0001_init",
  operations: [
    {
      create_table: {
        table: "categories",
        columns: [
          { name: "id", type: "serial", primary_key: true },
          { name: "title", type: "text", nullable: false },
        ],
      },
    },
    {
      create_table: {
        table: "products",
        columns: [
          { name: "id", type: "bigserial", primary_key: true },
          { name: "name", type: "text", nullable: false },
          { name: "price", type: "numeric(10,2)", nullable: false, default: "0", check: "price >= 0" },
          { name: "description", type: "text" },
          { name: "sku", type: "text" },
          { name: "category_id", type: "int" },
        ],
      },
    },
    { create_index: { name: "products_sku_idx", table: "products", columns: ["sku"] } },
  ],
};

const OLD = schemaOf("0001_init");
const NEW = schemaOf("0002_change");

async function seed(c: Client) {
  await c.query("INSERT INTO categories (title) VALUES ('tools'), ('toys')");
  await c.query(
    `INSERT INTO products (name, price, description, sku, category_id) VALUES
       ('Hammer', 12.50, 'heavy', 'H-1', 1), ('Saw', 20, NULL, 'S-1', 1), ('Ball', 3.99, 'round', 'B-1', 2)`,
  );
}

/** The old version's ordinary traffic: must keep working during the migration and after a rollback. */
async function oldTraffic(c: Client) {
  const r = await c.query("INSERT INTO products (name, price, sku) VALUES ('Old', 1.5, $1) RETURNING id", [
    `O-${Math.random().toString(36).slice(2, 8)}`,
  ]);
  await c.query("UPDATE products SET price = price + 1 WHERE id = $1", [r.rows[0].id]);
  const read = await c.query("SELECT name, price FROM products WHERE id = $1", [r.rows[0].id]);
  expect(read.rows[0]).toEqual({ name: "Old", price: "2.50" });
  await c.query("INSERT INTO categories (title) VALUES ('old-cat')");
}

/** One migration `0002_change` over the seeded `0001_init`, and what each version must see. */
export interface OperationCase {
  name: string;
  operations: MigrationDefinition["operations"];
  /** Old client traffic specific to this case while both versions run. */
  old?: (c: Client) => Promise<void>;
  /** New client traffic while both versions run (and after complete unless `afterCompleteNew` is set). */
  new: (c: Client) => Promise<void>;
  afterCompleteNew?: (c: Client) => Promise<void>;
  afterRollback?: (a: Client) => Promise<void>;
  afterComplete?: (a: Client) => Promise<void>;
  /**
   * Whether the old client's generic traffic runs while both versions are
   * active (false when the case drops or renames `categories`, which that
   * traffic writes to). After a rollback it always runs.
   */
  oldTraffic?: boolean;
}

/** Type, nullability and default of a physical column, or undefined when it does not exist. */
export const colType = async (a: Client, table: string, column: string) =>
  (
    await a.query(
      "SELECT data_type, is_nullable, column_default FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 AND column_name = $2",
      [table, column],
    )
  ).rows[0];

async function withAdmin(url: string, fn?: (a: Client) => Promise<void>) {
  const a = await admin(url);
  try {
    await fn?.(a);
  } finally {
    await a.end();
  }
}

/** Registers the matrix for the cases of one operation kind. */
export function describeOperation(kind: string, cases: OperationCase[]): void {
  describe(`${kind}: start → both versions → rollback → start → complete`, () => {
    it.each(cases)("$name", async (tc) => {
      await withDb("mx", (url) => runCase(url, tc));
    });
  });
}

async function runCase(url: string, tc: OperationCase): Promise<void> {
  const engine = engineFor(url);
  try {
    await engine.start(INIT);
    await engine.complete("0001_init");
    await withClient(url, OLD, seed);
    const migration: MigrationDefinition = { name: "0002_change", operations: tc.operations };

    // 1. start; both versions work side by side.
    const started = await engine.start(migration);
    expect(started.phase).toBe("active");
    expect(started.versionSchema).toBe(NEW);
    await withClient(url, OLD, async (c) => {
      if (tc.oldTraffic !== false) await oldTraffic(c);
      await tc.old?.(c);
    });
    await withClient(url, NEW, tc.new);
    const v = await engine.verify();
    expect(v.checks.filter((c) => !c.ok)).toEqual([]);

    // 2. rollback: nothing left but put-aside data; the old version is unaffected.
    const rolled = await engine.rollback("0002_change");
    expect(rolled.phase).toBe("rolled_back");
    await withAdmin(url, tc.afterRollback);
    const left = await leftovers(url);
    expect(left.triggers).toEqual([]);
    expect(left.functions).toEqual([]);
    expect(left.unrecordedInternal).toEqual([]);
    expect(left.invalidIndexes).toEqual([]);
    expect(left.versionSchemas).toEqual([OLD]);
    await withClient(url, OLD, async (c) => {
      await oldTraffic(c);
      await tc.old?.(c);
    });

    // 3. start again and complete: the new version works, the old objects are gone.
    await engine.start(migration);
    await withClient(url, NEW, tc.new);
    const done = await engine.complete("0002_change");
    expect(done.phase).toBe("completed");
    const after = await leftovers(url);
    expect(after.versionSchemas).toEqual([NEW]);
    expect(after.triggers).toEqual([]);
    expect(after.functions).toEqual([]);
    expect(after.unrecordedInternal).toEqual([]);
    expect(after.aside.filter((x) => x.includes("_ss_new_"))).toEqual([]);
    await withClient(url, NEW, tc.afterCompleteNew ?? tc.new);
    await withAdmin(url, tc.afterComplete);
    // Rerunning any command is a no-op.
    expect((await engine.complete("0002_change")).alreadyDone).toBe(true);
    expect((await engine.start(migration)).alreadyDone).toBe(true);
  } finally {
    await engine.close();
  }
}
