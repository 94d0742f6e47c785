/**
 * `npm run dev` — the local platform for development (dev/stack/dev-stack.ts):
 * Temporal dev server + Web UI, PostgreSQL and a worker; Ctrl-C stops everything.
 */
import { runDevStack } from "../dev/stack/dev-stack";

runDevStack().catch((err) => {
  console.error(`dev stack failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
