#!/usr/bin/env node
// The `shipshape` bin: registers tsx so the TypeScript CLI runs without a build
// step, then hands over process.argv. The exit code comes from the command
// (0 ok, 1 deployment failed or rolled back, 2 usage or config error).
"use strict";

require("tsx/cjs");
const path = require("node:path");

const { main } = require(path.join(__dirname, "..", "cli", "main.ts"));

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    console.error(error?.stack ? error.stack : String(error));
    process.exitCode = 1;
  },
);
