#!/usr/bin/env node
// The `shipshape` bin. Runs the built CLI, dist/cli/main.js (`npm run build`,
// which npm runs at install), when it was built from exactly the sources beside
// it; otherwise the TypeScript sources through tsx, so a stale dist/ never runs
// old code. SHIPSHAPE_FROM_SOURCE=1 asks for the sources even when dist/ is
// current. The exit code comes from the command (0 ok, 1 deployment failed or
// rolled back, 2 usage or config error).
"use strict";

const fs = require("node:fs");
const path = require("node:path");

const root = path.join(__dirname, "..");

// Node 22+ keeps the compiled code of the modules between runs (a no-op on Node 20).
require("node:module").enableCompileCache?.();

const fromSource = process.env.SHIPSHAPE_FROM_SOURCE === "1";

/** Why dist/ is not run, or null when it is. */
function whyNotDist() {
  if (fromSource) return "SHIPSHAPE_FROM_SOURCE=1";
  const built = path.join(root, "dist", "cli", "main.js");
  if (!fs.existsSync(built)) return "it was never built";
  const { staleness } = require(path.join(root, "dist", "lib", "runtime", "build-stamp.js"));
  return staleness(root, "compiled");
}

function loadCli() {
  const why = whyNotDist();
  if (why === null) return require(path.join(root, "dist", "cli", "main.js"));
  try {
    require.resolve("tsx/cjs");
  } catch {
    console.error(
      `shipshape: dist/cli/main.js cannot be used (${why}) and tsx is not installed: run \`npm run build\``,
    );
    process.exit(2);
  }
  // Said to people only: scripts and tests read stderr, and the sources give the same answers.
  if (process.stderr.isTTY && !fromSource)
    console.error(
      `shipshape: running the sources through tsx (slower): dist/cli/main.js cannot be used: ${why} — \`npm run build\` makes it fast again`,
    );
  // Both hooks: the commands load their actions with import(), which the CommonJS hook alone does not see.
  require("tsx/esm");
  require("tsx/cjs");
  return require(path.join(root, "cli", "main.ts"));
}

loadCli()
  .main(process.argv)
  .then(
    (code) => {
      process.exitCode = code;
    },
    (error) => {
      console.error(error?.stack ? error.stack : String(error));
      process.exitCode = 1;
    },
  );
