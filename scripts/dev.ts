/**
 * `npm run dev` / `npx shipshape dev` — the local platform for development
 * (dev/stack/dev-stack.ts), for the project in the current folder (or
 * `--root <dir>`): Temporal dev server + Web UI, PostgreSQL and a worker;
 * `.shipshape/dev/stack.json` says how to reach them. Ctrl-C stops everything.
 */
import path from "node:path";
import { parseArgs } from "node:util";
import { runDevStack } from "../dev/stack/dev-stack";

const { values } = parseArgs({ options: { root: { type: "string" } }, strict: true });
runDevStack({ root: path.resolve(values.root ?? process.cwd()) }).catch((err) => {
  console.error(`dev stack failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
