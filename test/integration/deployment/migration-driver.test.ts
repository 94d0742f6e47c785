import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engineMigrationDriver } from "../../../activities/migration-driver";
import type { VersionEnvironmentRef } from "../../../lib/drivers/common";
import { createMigrationEngine, type MigrationEngine } from "../../../lib/migrations/engine";
import { freshDatabase } from "../../support/postgres";

/** The MigrationDriver the workflow's database activities use, on real PostgreSQL (twin of the fake). */
const DIR = path.join(__dirname, "..", "..", "..", "examples", "shop", "migrations");
const ref: VersionEnvironmentRef = {
  deploymentId: "d1",
  service: "shop",
  environment: "production",
  version: "v2",
};

let db: Awaited<ReturnType<typeof freshDatabase>>;
let engine: MigrationEngine;
beforeAll(async () => {
  db = await freshDatabase("migdrv");
  engine = createMigrationEngine({ connectionString: db.url, service: "shop" });
});
afterAll(async () => {
  await engine?.close();
  await db?.drop();
});

describe("engineMigrationDriver on real PostgreSQL", () => {
  const driver = () => engineMigrationDriver({ engineFor: () => engine, migrationsDirFor: () => DIR });
  const progress: string[] = [];

  it("expand starts the pending migrations (all but the last completed) and is idempotent", async () => {
    const first = await driver().expand(ref, (m) => progress.push(m));
    expect(first.migration).toBe("0002_title_and_cents");
    expect(first.versionSchema).toBe("shop_0002_title_and_cents");
    const again = await driver().expand(ref, () => undefined);
    expect(again).toEqual(first);
    const status = await engine.status();
    expect(status.migrations.map((m) => `${m.name}:${m.phase}`)).toEqual([
      "0001_initial:completed",
      "0002_title_and_cents:active",
    ]);
    expect(progress[0]).toMatch(/starting 0001_initial \(1\/2\)/);
  });

  it("rollback with an unknown migration (expand never returned) rolls back the active one, twice is a no-op", async () => {
    expect((await driver().rollback(ref, null, () => undefined)).alreadyDone).toBe(false);
    expect((await driver().rollback(ref, null, () => undefined)).alreadyDone).toBe(true);
    const status = await engine.status();
    expect(status.active).toBeNull();
    expect(status.migrations.find((m) => m.name === "0002_title_and_cents")?.phase).toBe("rolled_back");
  });
});
