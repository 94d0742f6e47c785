/**
 * `npm run bench` — runs the benchmarks one after another (never in parallel:
 * these machines are noisy enough), each printing its figures and writing
 * bench/results/<name>.json. `npm run bench -- router orchestration` runs a subset.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const BENCHMARKS = [
  "cli-startup",
  "orchestration",
  "router",
  "migrations-backfill",
  "rollback-speed",
  "worker-kill-recovery",
];

function main(): number {
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((w) => !BENCHMARKS.includes(w));
  if (unknown.length) {
    console.error(`unknown benchmark(s): ${unknown.join(", ")} — known: ${BENCHMARKS.join(", ")}`);
    return 2;
  }
  const selected = (wanted.length ? wanted : BENCHMARKS).filter((b) =>
    fs.existsSync(path.join(__dirname, `${b}.ts`)),
  );
  const tsx = path.join(__dirname, "..", "node_modules", ".bin", "tsx");
  const failed: string[] = [];
  for (const name of selected) {
    console.log(`\n=== bench ${name}`);
    const r = spawnSync(tsx, [path.join(__dirname, `${name}.ts`)], { stdio: "inherit" });
    if (r.status !== 0) failed.push(name);
  }
  console.log(
    `\nbenchmarks done: ${selected.length - failed.length}/${selected.length} ok; results in bench/results/`,
  );
  return failed.length ? 1 : 0;
}

process.exit(main());
