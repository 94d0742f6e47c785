import { Connection } from "@temporalio/client";
import { Client } from "pg";
import { describe, expect, inject, it } from "vitest";
import { freshDatabase } from "../support/postgres";

// The engines the integration suite runs against are the real ones.
describe("real engines", () => {
  it("PostgreSQL answers and isolates databases per test", async () => {
    const db = await freshDatabase("engines");
    const c = new Client({ connectionString: db.url });
    await c.connect();
    const r = await c.query("select current_database() as db, version() as v");
    await c.end();
    expect(r.rows[0].db).toBe(db.name);
    expect(r.rows[0].v).toMatch(/^PostgreSQL \d+/);
    await db.drop();
  });

  it("Temporal dev server answers and has the Shipshape search attributes", async () => {
    const connection = await Connection.connect({ address: inject("temporalAddress") });
    const info = await connection.operatorService.listSearchAttributes({ namespace: "default" });
    await connection.close();
    expect(Object.keys(info.customAttributes ?? {})).toEqual(
      expect.arrayContaining([
        "ShipshapeService",
        "ShipshapeEnvironment",
        "ShipshapeVersion",
        "ShipshapePhase",
        "ShipshapeOutcome",
      ]),
    );
  });
});
