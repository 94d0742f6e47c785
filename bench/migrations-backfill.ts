/**
 * Benchmark of the parallel-schema migration engine on a private PostgreSQL:
 *
 *  1. Backfill throughput (rows/s) of a column type change
 *     (products.price numeric(10,2) -> price_cents bigint, via the dual-write
 *     trigger) on 100k and 1M rows, keyset batches of 1000 rows, no delay.
 *  2. Write slowdown while dual-write triggers are active: the same UPDATEs
 *     through the old version before `start` (no trigger) and after (trigger
 *     computing the shadow column), as single-row UPDATE transactions from
 *     one connection and as one bulk UPDATE of every row.
 *
 * Reference (pgroll's published figures): 100k rows backfilled at about
 * 21–28k rows/s, writes 3.8–4.6× slower with its triggers.
 *
 *   npx tsx bench/migrations-backfill.ts      (writes bench/results/migrations-backfill.json)
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Client } from "pg";
import { startPostgresCluster } from "../dev/services/postgres-cluster";
import { createMigrationEngine } from "../lib/migrations/engine";
import type { MigrationDefinition } from "../lib/migrations/file-format";
import { stateDir } from "../lib/runtime/paths";
import { readManifest } from "../lib/runtime/toolchain-manifest";

const BATCH = 1000;
const SINGLE_UPDATE_SECONDS = 4;

const INIT: MigrationDefinition = {
  name: "0001_init",
  operations: [
    {
      create_table: {
        table: "products",
        columns: [
          { name: "id", type: "bigserial", primary_key: true },
          { name: "name", type: "text", nullable: false },
          { name: "price", type: "numeric(10,2)", nullable: false, default: "0" },
          { name: "description", type: "text" },
        ],
      },
    },
  ],
};

const CHANGE: MigrationDefinition = {
  name: "0002_cents",
  operations: [
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

async function connect(url: string, searchPath?: string): Promise<Client> {
  const c = new Client({
    connectionString: url,
    ...(searchPath ? { options: `-c search_path=${searchPath}` } : {}),
  });
  await c.connect();
  return c;
}

/** Single-row UPDATE transactions on random rows for a fixed time, from one connection. */
async function singleUpdateRate(c: Client, rows: number, seconds: number): Promise<number> {
  const until = Date.now() + seconds * 1000;
  let n = 0;
  const t0 = process.hrtime.bigint();
  while (Date.now() < until) {
    const id = 1 + Math.floor(Math.random() * rows);
    await c.query("UPDATE products SET price = price + 0.01 WHERE id = $1", [id]);
    n++;
  }
  return n / (Number(process.hrtime.bigint() - t0) / 1e9);
}

async function bulkUpdateRate(c: Client, rows: number): Promise<number> {
  const t0 = process.hrtime.bigint();
  const r = await c.query("UPDATE products SET price = price + 0.01");
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.rowCount !== rows) throw new Error(`bulk update touched ${r.rowCount} rows, expected ${rows}`);
  return rows / s;
}

async function prepareDatabase(adminUrl: string, urlFor: (db: string) => string, name: string, rows: number) {
  const admin = await connect(adminUrl);
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = urlFor(name);
  const engine = createMigrationEngine({ connectionString: url, service: "bench" });
  await engine.start(INIT);
  await engine.complete(INIT.name);
  await engine.close();
  const c = await connect(url);
  await c.query(
    `INSERT INTO products (name, price, description)
     SELECT 'product ' || g, (g % 100000) / 100.0, 'description of product ' || g FROM generate_series(1, $1) g`,
    [rows],
  );
  await c.query("VACUUM ANALYZE products");
  await c.end();
  return url;
}

async function backfill(url: string) {
  let t0 = 0n;
  let t1 = 0n;
  const engine = createMigrationEngine({
    connectionString: url,
    service: "bench",
    backfill: { batchSize: BATCH, delayMs: 0 },
    hooks: {
      afterStep(step) {
        if (step === "start:views") t0 = process.hrtime.bigint();
        if (step === "start:0:backfill") t1 = process.hrtime.bigint();
      },
    },
  });
  const r = await engine.start(CHANGE);
  await engine.close();
  const rows = r.backfill[0]?.rowsDone ?? 0;
  const seconds = Number(t1 - t0) / 1e9;
  return {
    rows,
    batches: r.backfill[0]?.batches ?? 0,
    seconds,
    rowsPerSecond: rows / seconds,
    startSeconds: r.durationMs / 1000,
  };
}

async function main() {
  const started = Date.now();
  const manifest = readManifest();
  const pg = await startPostgresCluster({
    bindir: manifest.postgres.bindir,
    dataDir: path.join(stateDir(), "bench-pg"),
    fast: true,
  });
  const results: Record<string, unknown> = {};
  try {
    const admin = await connect(pg.url);
    const version = (await admin.query("SHOW server_version")).rows[0].server_version as string;
    await admin.end();

    // 1. Backfill throughput.
    const backfills = [];
    for (const rows of [100_000, 1_000_000]) {
      const url = await prepareDatabase(pg.url, pg.urlFor, `bench_backfill_${rows}`, rows);
      const b = await backfill(url);
      console.log(
        `backfill ${rows.toLocaleString("en")} rows: ${Math.round(b.rowsPerSecond).toLocaleString("en")} rows/s ` +
          `(${b.seconds.toFixed(1)} s, ${b.batches} batches of ${BATCH}; whole start ${b.startSeconds.toFixed(1)} s)`,
      );
      backfills.push({ table: rows, ...b });
      const c = await connect(pg.url);
      await c.query(`DROP DATABASE bench_backfill_${rows} WITH (FORCE)`);
      await c.end();
    }

    // 2. Write slowdown with dual-write triggers.
    const rows = 100_000;
    const url = await prepareDatabase(pg.url, pg.urlFor, "bench_writes", rows);
    const engine = createMigrationEngine({
      connectionString: url,
      service: "bench",
      backfill: { batchSize: BATCH, delayMs: 0 },
    });
    await engine.start(CHANGE);
    await engine.close();
    // A/B on the same table in the same physical state: the dual-write trigger
    // is switched off and on between rounds (VACUUM before each measurement),
    // so page layout and HOT-update room do not favour either side.
    const old = await connect(url, "bench_0001_init");
    const trigger = (
      await old.query(
        `SELECT tgname FROM pg_trigger WHERE tgrelid = 'public.products'::regclass AND NOT tgisinternal`,
      )
    ).rows[0].tgname as string;
    const sample = {
      single: { on: [] as number[], off: [] as number[] },
      bulk: { on: [] as number[], off: [] as number[] },
    };
    for (let round = 0; round < 2; round++) {
      for (const mode of ["off", "on"] as const) {
        await old.query(
          `ALTER TABLE public.products ${mode === "on" ? "ENABLE" : "DISABLE"} TRIGGER "${trigger}"`,
        );
        await old.query("VACUUM public.products");
        sample.single[mode].push(await singleUpdateRate(old, rows, SINGLE_UPDATE_SECONDS / 2));
        await old.query("VACUUM public.products");
        sample.bulk[mode].push(await bulkUpdateRate(old, rows));
      }
    }
    // The "off" rounds skipped the shadow column: re-sync it, then leave the trigger on.
    await old.query(`ALTER TABLE public.products DISABLE TRIGGER "${trigger}"`);
    await old.query(`UPDATE public.products SET "_ss_new_price" = (price * 100)::bigint`);
    await old.query(`ALTER TABLE public.products ENABLE TRIGGER "${trigger}"`);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const singleWithout = mean(sample.single.off);
    const singleWith = mean(sample.single.on);
    const bulkWithout = mean(sample.bulk.off);
    const bulkWith = mean(sample.bulk.on);
    const check = await old.query(
      `SELECT count(*)::int AS n FROM public.products WHERE "_ss_new_price" IS DISTINCT FROM (price * 100)::bigint`,
    );
    await old.end();
    if (check.rows[0].n !== 0)
      throw new Error(`${check.rows[0].n} rows inconsistent after the write benchmark`);
    const writes = {
      table: rows,
      singleRowUpdatesPerSecond: {
        withoutTrigger: singleWithout,
        withTrigger: singleWith,
        slowdown: singleWithout / singleWith,
      },
      bulkUpdateRowsPerSecond: {
        withoutTrigger: bulkWithout,
        withTrigger: bulkWith,
        slowdown: bulkWithout / bulkWith,
      },
    };
    console.log(
      `single-row UPDATEs: ${Math.round(singleWithout)}/s without trigger, ${Math.round(singleWith)}/s with → ` +
        `${writes.singleRowUpdatesPerSecond.slowdown.toFixed(2)}× slower`,
    );
    console.log(
      `bulk UPDATE of ${rows.toLocaleString("en")} rows: ${Math.round(bulkWithout).toLocaleString("en")} rows/s without, ` +
        `${Math.round(bulkWith).toLocaleString("en")} rows/s with → ${writes.bulkUpdateRowsPerSecond.slowdown.toFixed(2)}× slower`,
    );
    const c = await connect(pg.url);
    await c.query("DROP DATABASE bench_writes WITH (FORCE)");
    await c.end();

    Object.assign(results, {
      benchmark: "migrations-backfill",
      date: new Date().toISOString(),
      machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, node: process.version },
      postgres: {
        version,
        settings: "private cluster, fsync=off, synchronous_commit=off, full_page_writes=off",
      },
      backfill: { batchSize: BATCH, delayMs: 0, runs: backfills },
      writes,
      reference: { tool: "pgroll", backfillRowsPerSecond100k: [21_000, 28_000], writeSlowdown: [3.8, 4.6] },
      durationSeconds: (Date.now() - started) / 1000,
    });
  } finally {
    pg.stop();
  }
  const out = path.join(__dirname, "results", "migrations-backfill.json");
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
  console.log(
    `wrote ${path.relative(process.cwd(), out)} in ${(results.durationSeconds as number).toFixed(0)} s`,
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
