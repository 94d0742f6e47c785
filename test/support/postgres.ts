import { randomBytes } from "node:crypto";
import { Client } from "pg";
import { inject } from "vitest";

/**
 * A brand-new database on the run's real PostgreSQL cluster, so test files never
 * see each other's tables. Returns its URL and a drop function.
 */
export async function freshDatabase(
  prefix = "t",
): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const adminUrl = inject("postgresAdminUrl");
  const name = `${prefix}_${randomBytes(4).toString("hex")}`.toLowerCase().replace(/[^a-z0-9_]/g, "_");
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = adminUrl.replace(/\/[^/]*$/, `/${name}`);
  return {
    url,
    name,
    async drop() {
      const c = new Client({ connectionString: adminUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
