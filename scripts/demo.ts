/**
 * `npm run demo` — the main job on embedded defaults: starts the embedded
 * stack (Temporal dev server + Web UI, PostgreSQL, worker with the real local
 * drivers, the local router, shop v1 under load) and narrates four real
 * deployments (scripts/demo/full.ts), checking each behaved as narrated.
 *
 *   npm run demo                 the full demo (exit 1 if anything misbehaved)
 *   npm run demo -- --keep       leave the stack running until Ctrl-C
 *
 * Environment: SHIPSHAPE_TEMPORAL_PORT / SHIPSHAPE_UI_PORT (default 7233 /
 * 8233 when free), SHIPSHAPE_DEMO_RPS (load through the router, default 300).
 */
import { runFullDemo } from "./demo/full";

async function main(): Promise<number> {
  const keep = process.argv.includes("--keep");
  return runFullDemo({ keep });
}

main()
  .then((code) => process.exit(code))
  .catch((err) => {
    console.error(`demo failed: ${err instanceof Error ? err.stack : String(err)}`);
    process.exit(1);
  });
