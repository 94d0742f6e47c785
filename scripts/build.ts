/**
 * `npm run build` — what ships: the product compiled to CommonJS in dist/
 * (`tsc -p tsconfig.build.json`; the `shipshape` bin runs dist/cli/main.js)
 * and the workflow bundle dist/workflow-bundle.js (the worker runs it instead
 * of bundling at every start). npm runs it as `prepare` (so `npm ci` gives a
 * working CLI) and before test, dev, demo and chaos.
 *
 *   npm run build              # rebuilds only the outputs whose inputs changed
 *   npm run build -- --force   # rebuilds everything
 *   npm run build -- --check   # exit 1 when an output is not current (CI)
 *
 * Each output is recorded in dist/build-stamp.json with the digests of its
 * inputs taken before it was built (lib/runtime/build-stamp.ts), so an edit
 * made while building leaves it stale, never falsely current.
 *
 * tsconfig.build.json emits `module: commonjs` (the typecheck config's
 * `module: preserve` would keep import statements, which CommonJS cannot
 * load) and therefore resolves with `node10`; `import()` becomes `require()`,
 * which is what the CLI's lazily loaded command actions rely on.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import {
  BUILD_OUTPUTS,
  type BuildOutput,
  compiledFolders,
  inputStates,
  staleness,
  writeBuildStamp,
} from "../lib/runtime/build-stamp";
import { BUILD_DIR, PROJECT_ROOT } from "../lib/runtime/paths";
import { writeWorkflowBundle } from "../workers/workflow-bundle";

const BUILDERS: Record<BuildOutput, () => Promise<void>> = {
  async compiled() {
    // A clean compile: a deleted source file must not live on as JavaScript.
    for (const folder of compiledFolders(PROJECT_ROOT))
      fs.rmSync(path.join(BUILD_DIR, folder), { recursive: true, force: true });
    const tsc = require.resolve("typescript/bin/tsc");
    const r = spawnSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], {
      cwd: PROJECT_ROOT,
      stdio: "inherit",
    });
    if (r.status !== 0) throw new Error(`tsc -p tsconfig.build.json failed (exit ${r.status})`);
  },
  async workflowBundle() {
    await writeWorkflowBundle(path.join(PROJECT_ROOT, BUILD_OUTPUTS.workflowBundle.artifact));
  },
};

async function build(output: BuildOutput, force: boolean): Promise<void> {
  const { artifact } = BUILD_OUTPUTS[output];
  const stale = force ? "--force" : staleness(PROJECT_ROOT, output);
  if (stale === null) {
    console.log(`build: ${artifact} is current`);
    return;
  }
  console.log(`build: ${artifact} (${stale})…`);
  const t0 = Date.now();
  const inputs = inputStates(PROJECT_ROOT, output);
  await BUILDERS[output]();
  writeBuildStamp(PROJECT_ROOT, output, inputs);
  console.log(`build: ${artifact} built in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

function check(outputs: BuildOutput[]): number {
  let stale = 0;
  for (const output of outputs) {
    const why = staleness(PROJECT_ROOT, output);
    const { artifact } = BUILD_OUTPUTS[output];
    console.log(why === null ? `✓ ${artifact} is current` : `✗ ${artifact} cannot be used: ${why}`);
    if (why !== null) stale++;
  }
  return stale ? 1 : 0;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { force: { type: "boolean", default: false }, check: { type: "boolean", default: false } },
    strict: true,
  });
  const outputs = Object.keys(BUILD_OUTPUTS) as BuildOutput[];
  if (values.check) return check(outputs);
  for (const output of outputs) await build(output, values.force);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`build: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
