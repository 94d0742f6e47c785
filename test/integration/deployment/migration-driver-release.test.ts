import { createHash } from "node:crypto";
import { Client } from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { engineMigrationDriver } from "../../../activities/migration-driver";
import type { MigrationBundle } from "../../../lib/deployment/types";
import type { VersionEnvironmentRef } from "../../../lib/drivers/common";
import { createMigrationEngine } from "../../../lib/migrations/engine";
import { versionSchemaName } from "../../../lib/migrations/versioned-schema";
import { freshDatabase } from "../../support/postgres";

/**
 * A release with several migrations, through the MigrationDriver the
 * workflow's database activities use, on real PostgreSQL, while blue (the
 * version serving before the release) reads and writes through its version
 * schema the whole time. Expand completes nothing — blue's schema stays and
 * no drop runs — contract (finalize) completes them all, and a rollback at
 * any point of the release undoes every migration it started and loses
 * nothing either version wrote.
 */
const quiet = () => undefined;
const schemaOf = (migration: string) =>
  versionSchemaName({ service: "shop", environment: "production", migration });
const BLUE_SCHEMA = schemaOf("0001_initial");
const GREEN_SCHEMA = schemaOf("0004_drop_description");
const ref = (deploymentId: string): VersionEnvironmentRef => ({
  deploymentId,
  service: "shop",
  environment: "production",
  version: deploymentId === "d1" ? "v1" : "v2",
});
// biome-ignore lint/suspicious/noTemplateCurlyInString: the literal ${env:NAME} syntax
const database = { url: "${env:SHOP_DB}" };

function bundle(files: Record<string, string>): MigrationBundle {
  const list = Object.entries(files).map(([file, content]) => ({
    file,
    content,
    sha256: createHash("sha256").update(content).digest("hex"),
  }));
  return { files: list, digest: "test" };
}

const INITIAL = `operations:
  - create_table:
      table: products
      columns:
        - { name: id, type: bigserial, primary_key: true }
        - { name: name, type: text, nullable: false }
        - { name: price, type: "numeric(10,2)", nullable: false, default: "0" }
        - { name: description, type: text }
`;
/** v2's three migrations: a new column, a type change (dual-written), and a drop of what blue still uses. */
const RELEASE = {
  "0001_initial.yaml": INITIAL,
  "0002_stock.yaml": `operations:
  - add_column: { table: products, column: { name: stock, type: integer, default: "0" } }
`,
  "0003_price_cents.yaml": `operations:
  - change_type:
      table: products
      column: price
      name: price_cents
      type: bigint
      up: (price * 100)::bigint
      down: price_cents / 100.0
`,
  "0004_drop_description.yaml": `operations:
  - drop_column: { table: products, column: description, down: "'from v2'" }
`,
};
const RELEASE_NAMES = ["0002_stock", "0003_price_cents", "0004_drop_description"];

interface BlueRow {
  name: string;
  price: string;
  description: string | null;
}

/**
 * Blue's users: insert a product, change an earlier one, read it back — on
 * and on, through blue's version schema, until stopped. Every error (and
 * every read that does not give back what blue wrote) is kept.
 */
function blueLoad(url: string) {
  const written = new Map<string, BlueRow>();
  const errors: string[] = [];
  let running = true;
  let rounds = 0;
  const done = (async () => {
    const c = new Client({ connectionString: url, options: `-c search_path=${BLUE_SCHEMA}` });
    await c.connect();
    try {
      while (running) {
        rounds++;
        try {
          const row: BlueRow = { name: `blue ${rounds}`, price: `${rounds}.25`, description: `d${rounds}` };
          const ins = await c.query<{ id: string }>(
            "INSERT INTO products (name, price, description) VALUES ($1, $2, $3) RETURNING id",
            [row.name, row.price, row.description],
          );
          written.set(ins.rows[0]!.id, row);
          const ids = [...written.keys()];
          const id = ids[Math.floor(Math.random() * ids.length)]!;
          const changed: BlueRow = { ...written.get(id)!, price: `${rounds}.50`, description: `u${rounds}` };
          await c.query("UPDATE products SET price = $2, description = $3 WHERE id = $1", [
            id,
            changed.price,
            changed.description,
          ]);
          written.set(id, changed);
          const read = await c.query<BlueRow>(
            "SELECT name, price::text AS price, description FROM products WHERE id = $1",
            [id],
          );
          if (JSON.stringify(read.rows[0]) !== JSON.stringify(changed)) {
            errors.push(`read ${JSON.stringify(read.rows[0])}, wrote ${JSON.stringify(changed)}`);
          }
        } catch (err) {
          errors.push((err as Error).message);
        }
        await new Promise((r) => setTimeout(r, 3));
      }
    } finally {
      await c.end();
    }
  })();
  return {
    written,
    errors,
    rounds: () => rounds,
    async stop() {
      running = false;
      await done;
    },
  };
}

/** Green's users: products written through green's version schema (price in cents, a stock). */
async function greenWrites(url: string, count: number) {
  const c = new Client({ connectionString: url, options: `-c search_path=${GREEN_SCHEMA}` });
  await c.connect();
  const written = new Map<string, { name: string; price_cents: string; stock: number }>();
  try {
    for (let i = 1; i <= count; i++) {
      const row = { name: `green ${i}`, price_cents: String(1000 + i), stock: 7 * i };
      const r = await c.query<{ id: string }>(
        "INSERT INTO products (name, price_cents, stock) VALUES ($1, $2, $3) RETURNING id",
        [row.name, row.price_cents, row.stock],
      );
      written.set(r.rows[0]!.id, row);
    }
  } finally {
    await c.end();
  }
  return written;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

/** A database where v1 (0001_initial) was released and serves, with blue's load running. */
async function servingV1(hooks: { beforeStep?(step: string): void } = {}) {
  const db = await freshDatabase("release");
  cleanups.push(() => db.drop());
  // Small backfill batches: the expansion takes a while, and blue writes throughout it.
  const driver = engineMigrationDriver({
    env: { SHOP_DB: db.url },
    engine: { hooks, backfill: { batchSize: 10, delayMs: 2 } },
  });
  cleanups.push(() => driver.close());
  const v1 = bundle({ "0001_initial.yaml": INITIAL });
  await driver.expand(ref("d1"), database, v1, quiet);
  await driver.contract(ref("d1"), database, "0001_initial", quiet);
  const engine = createMigrationEngine({
    connectionString: db.url,
    service: "shop",
    environment: "production",
  });
  cleanups.push(() => engine.close());
  const admin = new Client({ connectionString: db.url });
  await admin.connect();
  cleanups.push(() => admin.end());
  const blue = blueLoad(db.url);
  cleanups.push(() => blue.stop());
  // Blue is busy before the release starts.
  while (blue.rounds() < 100) await new Promise((r) => setTimeout(r, 10));
  return { db, driver, engine, admin, blue };
}

const phases = async (engine: ReturnType<typeof createMigrationEngine>) =>
  (await engine.status()).migrations.map((m) => `${m.name}:${m.phase}`);

async function physicalColumns(admin: Client): Promise<string[]> {
  const r = await admin.query<{ c: string }>(
    "SELECT column_name AS c FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'products' ORDER BY 1",
  );
  return r.rows.map((x) => x.c);
}

/** Every row blue wrote reads back through blue's schema exactly as blue last wrote it. */
async function expectBlueRowsIntact(url: string, written: Map<string, BlueRow>): Promise<void> {
  const c = new Client({ connectionString: url, options: `-c search_path=${BLUE_SCHEMA}` });
  await c.connect();
  try {
    const r = await c.query<BlueRow & { id: string }>(
      "SELECT id::text AS id, name, price::text AS price, description FROM products",
    );
    const byId = new Map(r.rows.map(({ id, ...row }) => [id, row]));
    expect(written.size).toBeGreaterThan(20);
    for (const [id, row] of written) expect(byId.get(id), `blue's product ${id}`).toEqual(row);
  } finally {
    await c.end();
  }
}

describe("a release with several migrations, blue serving through its version schema", () => {
  it("expand completes none of them: blue's schema stays, nothing is dropped, blue never errors; finalize completes them all", async () => {
    const { db, driver, engine, admin, blue } = await servingV1();
    const before = blue.rounds();
    const expanded = await driver.expand(ref("d2"), database, bundle(RELEASE), quiet);
    expect(blue.rounds()).toBeGreaterThan(before);
    expect(expanded).toEqual({ migration: "0004_drop_description", versionSchema: GREEN_SCHEMA });
    // Blue keeps working after the expansion, side by side with green.
    const rounds = blue.rounds();
    while (blue.rounds() < rounds + 30) await new Promise((r) => setTimeout(r, 10));
    const green = await greenWrites(db.url, 5);
    expect(blue.errors).toEqual([]);
    const status = await engine.status();
    expect(status.migrations.map((m) => `${m.name}:${m.phase}:${m.owner}`)).toEqual([
      "0001_initial:completed:d1",
      ...RELEASE_NAMES.map((n) => `${n}:active:d2`),
    ]);
    for (const n of RELEASE_NAMES) {
      expect(status.migrations.find((m) => m.name === n)?.together).toEqual(RELEASE_NAMES);
    }
    expect(status.versionSchemas).toEqual([BLUE_SCHEMA, GREEN_SCHEMA]);
    expect(await physicalColumns(admin)).toContain("description");
    // A retried expand (worker crash after it returned) changes nothing.
    expect(await driver.expand(ref("d2"), database, bundle(RELEASE), quiet)).toEqual(expanded);

    // Finalize: blue gets no traffic any more.
    await blue.stop();
    await expectBlueRowsIntact(db.url, blue.written);
    expect((await driver.contract(ref("d2"), database, "0004_drop_description", quiet)).alreadyDone).toBe(
      false,
    );
    expect((await driver.contract(ref("d2"), database, "0004_drop_description", quiet)).alreadyDone).toBe(
      true,
    );
    expect(await phases(engine)).toEqual([
      "0001_initial:completed",
      ...RELEASE_NAMES.map((n) => `${n}:completed`),
    ]);
    const after = await engine.status();
    expect(after.versionSchemas).toEqual([GREEN_SCHEMA]);
    expect(await physicalColumns(admin)).toEqual(["id", "name", "price_cents", "stock"]);
    const read = await admin.query<{ id: string; name: string; price_cents: string; stock: number }>(
      `SELECT id::text AS id, name, price_cents::text AS price_cents, stock FROM ${GREEN_SCHEMA}.products`,
    );
    const byId = new Map(read.rows.map(({ id, ...row }) => [id, row]));
    for (const [id, row] of green) expect(byId.get(id)).toEqual(row);
    for (const [id, row] of blue.written) {
      expect(byId.get(id)).toEqual({
        name: row.name,
        price_cents: String(Math.round(Number(row.price) * 100)),
        stock: 0,
      });
    }
  });

  /**
   * Where the release stops: after each migration's part of the expansion
   * (a crash before the next one's first step), or expanded with green
   * writing, before finalize. The compensation then runs as the workflow
   * runs it: with the migration unknown when expand never returned.
   */
  const STOPS = [
    { after: "0002_stock", crashBefore: (s: string) => s.startsWith("start:1:") },
    { after: "0003_price_cents", crashBefore: (s: string) => s.startsWith("start:2:") },
    { after: "0004_drop_description", crashBefore: (s: string) => s === "start:views" },
    { after: "expand, green writing (before finalize)", crashBefore: null },
  ] as const;

  it.each(STOPS)(
    "rolled back after $after: every migration of the release is undone, nothing either version wrote is lost",
    async ({ crashBefore }) => {
      let armed = false;
      const { db, driver, engine, admin, blue } = await servingV1({
        beforeStep(step) {
          if (armed && crashBefore?.(step)) {
            armed = false;
            throw new Error(`worker stopped before ${step}`);
          }
        },
      });
      let green = new Map<string, { name: string; price_cents: string; stock: number }>();
      armed = crashBefore !== null;
      if (crashBefore) {
        await expect(driver.expand(ref("d2"), database, bundle(RELEASE), quiet)).rejects.toThrow(
          /worker stopped before/,
        );
        expect(await phases(engine)).toEqual([
          "0001_initial:completed",
          ...RELEASE_NAMES.map((n) => `${n}:starting`),
        ]);
      } else {
        await driver.expand(ref("d2"), database, bundle(RELEASE), quiet);
        green = await greenWrites(db.url, 5);
      }
      expect((await engine.status()).versionSchemas).toContain(BLUE_SCHEMA);
      expect(await physicalColumns(admin)).toContain("description");

      const migration = crashBefore ? null : "0004_drop_description";
      expect((await driver.rollback(ref("d2"), database, migration, quiet)).alreadyDone).toBe(false);
      expect((await driver.rollback(ref("d2"), database, migration, quiet)).alreadyDone).toBe(true);
      // Blue keeps working after the rollback too.
      const rounds = blue.rounds();
      while (blue.rounds() < rounds + 20) await new Promise((r) => setTimeout(r, 10));
      await blue.stop();

      expect(blue.errors).toEqual([]);
      expect(await phases(engine)).toEqual([
        "0001_initial:completed",
        ...RELEASE_NAMES.map((n) => `${n}:rolled_back`),
      ]);
      const status = await engine.status();
      expect(status.active).toBeNull();
      expect(status.versionSchemas).toEqual([BLUE_SCHEMA]);
      await expectBlueRowsIntact(db.url, blue.written);

      // Green's rows are blue's now (price from cents, description from the drop's `down`) …
      const blueView = await admin.query<{ id: string } & BlueRow>(
        `SELECT id::text AS id, name, price::text AS price, description FROM ${BLUE_SCHEMA}.products`,
      );
      const seen = new Map(blueView.rows.map(({ id, ...row }) => [id, row]));
      for (const [id, row] of green) {
        expect(seen.get(id)).toEqual({
          name: row.name,
          price: (Number(row.price_cents) / 100).toFixed(2),
          description: "from v2",
        });
      }
      expect(seen.size).toBe(blue.written.size + green.size);
      // … and what only green had (its stock) is put aside, not dropped.
      const stock = status.aside.find((a) => a.originalName === "stock");
      expect(stock?.kind).toBe("column");
      if (green.size > 0) {
        const kept = await admin.query<{ id: string; stock: number }>(
          `SELECT id::text AS id, "${stock!.column}" AS stock FROM public.products WHERE id = ANY($1::bigint[])`,
          [[...green.keys()]],
        );
        expect(new Map(kept.rows.map((r) => [r.id, r.stock]))).toEqual(
          new Map([...green].map(([id, row]) => [id, row.stock])),
        );
      }
      // Blue's table again, plus only what was put aside (the engine's `_ss_` names).
      const columns = await physicalColumns(admin);
      expect(columns.filter((c) => !c.startsWith("_ss_"))).toEqual(["description", "id", "name", "price"]);
      expect(columns).toContain(stock!.column);
    },
  );
});
