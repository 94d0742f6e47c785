import { createHash } from "node:crypto";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engineMigrationDriver } from "../../../activities/migration-driver";
import { readMigrationBundle } from "../../../client/migration-bundle";
import type { MigrationBundle } from "../../../lib/deployment/types";
import type { VersionEnvironmentRef } from "../../../lib/drivers/common";
import { createMigrationEngine, type MigrationEngine } from "../../../lib/migrations/engine";
import { versionSchemaName } from "../../../lib/migrations/versioned-schema";

const vs = (service: string, environment: string, migration: string) =>
  versionSchemaName({ service, environment, migration });

import { freshDatabase } from "../../support/postgres";

/**
 * The MigrationDriver the workflow's database activities use, on real
 * PostgreSQL (twin of the fake): migrations from the deployment's bundle,
 * the database from `database.url` resolved on the worker, one engine per
 * (service, environment, database), and ownership — a compensation only
 * ever undoes its own deployment's migrations.
 */
const SHOP = path.join(__dirname, "..", "..", "..", "examples", "shop", "migrations");
const ref = (over: Partial<VersionEnvironmentRef> = {}): VersionEnvironmentRef => ({
  deploymentId: "d1",
  service: "shop",
  environment: "production",
  version: "v2",
  ...over,
});
const quiet = () => undefined;

/** A bundle of in-memory migration files, as the CLI would send them. */
function bundle(files: Record<string, string>): MigrationBundle {
  const list = Object.entries(files).map(([file, content]) => ({
    file,
    content,
    sha256: createHash("sha256").update(content).digest("hex"),
  }));
  return { files: list, digest: "test" };
}
const createTable = (table: string) =>
  `operations:\n  - create_table:\n      table: ${table}\n      columns:\n        - { name: id, type: bigserial, primary_key: true }\n`;
const addColumn = (table: string, column: string) =>
  `operations:\n  - add_column: { table: ${table}, column: { name: ${column}, type: text } }\n`;

let db: Awaited<ReturnType<typeof freshDatabase>>;
const engines: MigrationEngine[] = [];
/** What a person sees of one scope (the CLI's `migrate status --service S --env E`). */
function scope(service: string, environment: string): MigrationEngine {
  const e = createMigrationEngine({ connectionString: db.url, service, environment });
  engines.push(e);
  return e;
}
// The worker's environment: the config says ${env:APP_DB}; the URL never leaves the worker.
// biome-ignore lint/suspicious/noTemplateCurlyInString: the literal ${env:NAME} syntax
const database = { url: "${env:APP_DB}" };
const driver = () => engineMigrationDriver({ env: { APP_DB: db.url } });

beforeAll(async () => {
  db = await freshDatabase("migdrv");
});
afterAll(async () => {
  for (const e of engines) await e.close();
  await db?.drop();
});

describe("engineMigrationDriver on real PostgreSQL", () => {
  it("expand starts the bundle's pending migrations together (none completed), owned by the deployment, idempotently", async () => {
    const d = driver();
    const progress: string[] = [];
    const first = await d.expand(ref(), database, readMigrationBundle(SHOP), (m) => progress.push(m));
    expect(first.migration).toBe("0002_title_and_cents");
    // Version schemas carry the environment: staging and production of one service never share one.
    expect(first.versionSchema).toBe(vs("shop", "production", "0002_title_and_cents"));
    expect(await d.expand(ref(), database, readMigrationBundle(SHOP), quiet)).toEqual(first);
    const status = await scope("shop", "production").status();
    expect(status.migrations.map((m) => `${m.name}:${m.phase}:${m.owner}`)).toEqual([
      "0001_initial:active:d1",
      "0002_title_and_cents:active:d1",
    ]);
    expect(status.versionSchemas).toEqual([vs("shop", "production", "0002_title_and_cents")]);
    expect(progress[0]).toMatch(/starting 0001_initial, 0002_title_and_cents together/);
    await d.close();
  });

  it("rollback with an unknown migration (expand never returned) rolls back what this deployment started, twice is a no-op", async () => {
    const d = driver();
    expect((await d.rollback(ref(), database, null, quiet)).alreadyDone).toBe(false);
    expect((await d.rollback(ref(), database, null, quiet)).alreadyDone).toBe(true);
    const status = await scope("shop", "production").status();
    expect(status.active).toBeNull();
    // Every migration the release started, not only the last.
    expect(status.migrations.map((m) => `${m.name}:${m.phase}`)).toEqual([
      "0001_initial:rolled_back",
      "0002_title_and_cents:rolled_back",
    ]);
    await d.close();
  });

  it("a file that does not match its digest is refused before anything runs", async () => {
    const b = bundle({ "0001_x.yaml": createTable("x_items") });
    b.files[0]!.content += "\n# altered";
    await expect(driver().expand(ref({ service: "x" }), database, b, quiet)).rejects.toThrow(
      /does not match its digest/,
    );
  });
});

describe("scopes and owners on one shared database", () => {
  // Service b, service a in staging and in production: each its own scope.
  const b = ref({ service: "b", environment: "prod", deploymentId: "dep-b" });
  const aStaging = ref({ service: "a", environment: "staging", deploymentId: "dep-a-staging" });
  const aProdStale = ref({ service: "a", environment: "prod", deploymentId: "dep-a0" });
  const aProd = ref({ service: "a", environment: "prod", deploymentId: "dep-a1" });

  /** b, a-staging and a-prod each have their 0001_initial active, started by their own deployment. */
  async function expectEachScopeActive(): Promise<void> {
    for (const [service, env, owner] of [
      ["b", "prod", "dep-b"],
      ["a", "staging", "dep-a-staging"],
      ["a", "prod", "dep-a0"],
    ] as const) {
      const status = await scope(service, env).status();
      expect(status.active?.name, `${service}/${env}`).toBe("0001_initial");
      expect(status.active?.phase).toBe("active");
      expect(status.active?.owner).toBe(owner);
      expect(status.migrations).toHaveLength(1);
    }
  }

  it("two services, and two environments of one service, each have their own active migration and their own 0001_initial", async () => {
    const d = driver();
    const rb = await d.expand(b, database, bundle({ "0001_initial.yaml": createTable("b_items") }), quiet);
    const rs = await d.expand(
      aStaging,
      database,
      bundle({ "0001_initial.yaml": createTable("a_staging_items") }),
      quiet,
    );
    const rp = await d.expand(
      aProdStale,
      database,
      bundle({ "0001_initial.yaml": createTable("a_prod_items") }),
      quiet,
    );
    expect([rb.versionSchema, rs.versionSchema, rp.versionSchema]).toEqual([
      vs("b", "prod", "0001_initial"),
      vs("a", "staging", "0001_initial"),
      vs("a", "prod", "0001_initial"),
    ]);
    await expectEachScopeActive();
    await d.close();
  });

  it("a failed deployment of a never touches b's, a-staging's or a stale deployment's active migration", async () => {
    const d = driver();
    // dep-a0 was terminated with 0001_initial active: dep-a1 is refused, naming the owner …
    await expect(
      d.expand(
        aProd,
        database,
        bundle({
          "0001_initial.yaml": createTable("a_prod_items"),
          "0002_more.yaml": addColumn("a_prod_items", "note"),
        }),
        quiet,
      ),
    ).rejects.toThrow(/started by dep-a0, not by dep-a1/);
    // … and its compensation (expand never returned, then by name) undoes nothing that is not its own.
    const lines: string[] = [];
    expect((await d.rollback(aProd, database, null, (l) => lines.push(l))).alreadyDone).toBe(true);
    expect((await d.rollback(aProd, database, "0001_initial", (l) => lines.push(l))).alreadyDone).toBe(true);
    expect(lines.join("\n")).toMatch(/not rolling back 0001_initial: it was started by dep-a0/);
    // The engine itself refuses a rollback by a deployment that does not own the attempt.
    await expect(scope("a", "prod").rollback("0001_initial", { owner: "dep-a1" })).rejects.toThrow(
      /started by dep-a0, not by dep-a1/,
    );
    await expectEachScopeActive();
    // Its owner's compensation does roll it back — and only it.
    expect((await d.rollback(aProdStale, database, null, quiet)).alreadyDone).toBe(false);
    expect((await scope("a", "prod").status()).active).toBeNull();
    expect((await scope("a", "staging").status()).active?.owner).toBe("dep-a-staging");
    expect((await scope("b", "prod").status()).active?.owner).toBe("dep-b");
    await d.close();
  });

  it("completing one scope's migration keeps every other scope's version schema", async () => {
    const d = driver();
    // shop/production: 0001_initial started again and completed, by another deployment.
    await d.expand(
      ref({ deploymentId: "d2" }),
      database,
      bundle({ "0001_initial.yaml": createTable("shop_items") }),
      quiet,
    );
    await d.contract(ref({ deploymentId: "d2" }), database, "0001_initial", quiet);
    await d.contract(b, database, "0001_initial", quiet);
    const staging = await scope("a", "staging").status();
    expect(staging.versionSchemas).toEqual([vs("a", "staging", "0001_initial")]);
    await d.contract(aStaging, database, "0001_initial", quiet);
    expect((await scope("b", "prod").status()).versionSchemas).toEqual([vs("b", "prod", "0001_initial")]);
    expect((await scope("shop", "production").status()).versionSchemas).toContain(
      vs("shop", "production", "0001_initial"),
    );
    await d.close();
  });
});
