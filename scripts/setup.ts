/**
 * `npm run setup` — idempotent toolchain check/installation (dev/toolchain/setup.ts).
 * Exits non-zero naming the missing piece and how to install it by hand.
 */
import { runSetup } from "../dev/toolchain/setup";

process.exitCode = runSetup();
