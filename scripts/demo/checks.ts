/** Facts the demo checks after each deployment: traffic, leftovers, schema. */

import type { Pool } from "pg";
import { LOCAL_PROJECT, localStackName } from "../../infra/local/program";
import { type PulumiSettings, stackExists } from "../../infra/pulumi/workspace";
import type { TrafficRouter } from "../../lib/drivers/traffic-router";
import type { MigrationEngine } from "../../lib/migrations/engine";
import { listProcs } from "../../lib/runtime/procfs";

export const SCOPE = { service: "shop", environment: "demo" } as const;

export interface Fact {
  what: string;
  ok: boolean;
}

/**
 * Live processes started for a Pulumi stack (SHIPSHAPE_INSTANCE_KEY=<stack>/… in their environment);
 * with `stateDir`, only those of that worker state folder (SHIPSHAPE_INSTANCE_HOME under it), so
 * another demo or test on the machine with the same stack names is not counted.
 */
export function processesOfStack(stackName: string, stateDir?: string): number[] {
  return listProcs(["SHIPSHAPE_INSTANCE_KEY", "SHIPSHAPE_INSTANCE_HOME"])
    .filter((p) => !p.zombie && p.env.get("SHIPSHAPE_INSTANCE_KEY")?.startsWith(`${stackName}/`))
    .filter((p) => !stateDir || p.env.get("SHIPSHAPE_INSTANCE_HOME")?.startsWith(`${stateDir}/`))
    .map((p) => p.pid);
}

export function stackOf(version: string, stateDir: string): string {
  return localStackName({ ...SCOPE, version }, stateDir);
}

/** The version's environment is gone: no Pulumi stack, no process. */
export async function environmentGone(
  pulumi: PulumiSettings,
  stateDir: string,
  version: string,
): Promise<Fact> {
  const name = stackOf(version, stateDir);
  const procs = processesOfStack(name, stateDir);
  const stack = await stackExists(pulumi, LOCAL_PROJECT, name);
  return {
    what: `${version} environment gone (Pulumi stack ${stack ? "STILL THERE" : "removed"}, ${procs.length} processes)`,
    ok: !stack && procs.length === 0,
  };
}

export async function environmentUp(
  pulumi: PulumiSettings,
  stateDir: string,
  version: string,
): Promise<Fact> {
  const name = stackOf(version, stateDir);
  const procs = processesOfStack(name, stateDir);
  const stack = await stackExists(pulumi, LOCAL_PROJECT, name);
  return {
    what: `${version} serving (Pulumi stack ${stack ? "up" : "MISSING"}, ${procs.length} processes)`,
    ok: stack && procs.length > 0,
  };
}

/** All traffic on `version` as blue, no green backend. */
export async function allTrafficOn(router: TrafficRouter, version: string): Promise<Fact> {
  const r = await router.getRoutes(SCOPE);
  const ok = r.backends.blue?.version === version && !r.backends.green && r.split.blue === 100;
  return {
    what: `router: blue ${r.backends.blue?.version ?? "none"} ${r.split.blue}%, green ${r.backends.green?.version ?? "none"} ${r.split.green}%`,
    ok,
  };
}

export async function migrationPhase(
  engine: MigrationEngine,
  name: string,
  expected: string[],
): Promise<Fact> {
  const s = await engine.status();
  const phase = s.migrations.find((m) => m.name === name)?.phase ?? "absent";
  const active = s.active ? `${s.active.name} (${s.active.phase})` : "none";
  return {
    what: `migration ${name}: ${phase}; active migration: ${active}`,
    ok: expected.includes(phase) && s.active === null,
  };
}

/** `column` is not a live column of public.products (a rolled-back one is renamed aside). */
export async function columnAbsent(pool: Pool, column: string): Promise<Fact> {
  const cols = await pool.query(
    "SELECT 1 FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'products' AND column_name = $1",
    [column],
  );
  return {
    what: `products.${column} ${cols.rowCount ? "STILL THERE" : "not applied"}`,
    ok: cols.rowCount === 0,
  };
}

export async function indexAbsent(pool: Pool, index: string): Promise<Fact> {
  const r = await pool.query("SELECT 1 FROM pg_indexes WHERE indexname = $1", [index]);
  return { what: `index ${index} ${r.rowCount ? "STILL THERE" : "not applied"}`, ok: r.rowCount === 0 };
}

export async function columnPresent(pool: Pool, column: string): Promise<Fact> {
  const f = await columnAbsent(pool, column);
  return { what: `products.${column} ${f.ok ? "MISSING" : "in place"}`, ok: !f.ok };
}
