/**
 * `npm run setup [-- --for <profile>]` — idempotent toolchain check/installation
 * (dev/toolchain/setup.ts). Profiles: demo, dev, chaos, test, all (default).
 * Exits non-zero naming the missing piece and how to install it by hand.
 */
import { parseArgs } from "node:util";
import { runSetup } from "../dev/toolchain/setup";

const { values } = parseArgs({ options: { for: { type: "string", default: "all" } } });
runSetup(values.for).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exitCode = 1;
  },
);
