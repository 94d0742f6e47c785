// How long `shipshape` takes to answer, as a person or a pipeline step runs it:
//   npm run bench -- cli-startup        (or: npx tsx bench/cli-startup.ts [--runs 20] [--warmup 2])
//
// Spawns `node bin/shipshape.cjs <command>` repeatedly, the way hyperfine
// would (warm-up runs first, wall time from spawn to exit), in two modes side
// by side, interleaved so both see the same machine load:
//
//   dist  the built CLI (dist/cli/main.js), what `npm ci` installs
//   tsx   the same sources through tsx (SHIPSHAPE_FROM_SOURCE=1), the
//         development fallback when dist/ is stale
//
// Wall time depends on what else the machine runs, so each run's CPU time
// (user + system of the child, all its threads, from /proc on Linux) is
// recorded too: on an idle machine the wall time is about the CPU time.
//
// Goals (dist, median wall time): `--help` under 300 ms, `validate
// examples/shop/shipshape.yaml` under 500 ms. Builds dist/ first when it is not
// current. Prints a table and writes bench/results/cli-startup.json with the
// machine's load average.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { percentile } from "../lib/delivery-stats";
import { staleness } from "../lib/runtime/build-stamp";
import { PROJECT_ROOT } from "../lib/runtime/paths";

interface Case {
  name: string;
  args: string[];
  /** What a correct answer prints on stdout: a run that does not is an error, not a figure. */
  expect: RegExp;
  goalMs: number;
}

const CASES: Case[] = [
  { name: "--help", args: ["--help"], expect: /^Usage: shipshape/, goalMs: 300 },
  {
    name: "validate",
    args: ["validate", "examples/shop/shipshape.yaml"],
    expect: /is valid: service shop/,
    goalMs: 500,
  },
];

const MODES = {
  dist: {},
  tsx: { SHIPSHAPE_FROM_SOURCE: "1" },
} as const;
type Mode = keyof typeof MODES;

const BIN = path.join(PROJECT_ROOT, "bin", "shipshape.cjs");

function clockTicksPerSecond(): number {
  const r = spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" });
  return Number(r.stdout) || 100;
}
const CLK_TCK = clockTicksPerSecond();

/** CPU time (ms) of this process's finished children so far (cutime + cstime); null off Linux. */
function childrenCpuMs(): number | null {
  try {
    const stat = fs.readFileSync("/proc/self/stat", "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // fields[0] is field 3 of proc(5)
    return ((Number(fields[13]) + Number(fields[14])) * 1000) / CLK_TCK;
  } catch {
    return null;
  }
}

interface Sample {
  wallMs: number;
  cpuMs: number | null;
}

function timeOnce(c: Case, mode: Mode): Sample {
  const cpu0 = childrenCpuMs();
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [BIN, ...c.args], {
    cwd: PROJECT_ROOT,
    encoding: "utf8",
    env: { ...process.env, ...MODES[mode], NO_COLOR: "1" },
  });
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const cpu1 = childrenCpuMs();
  if (r.status !== 0 || !c.expect.test(r.stdout))
    throw new Error(`shipshape ${c.args.join(" ")} (${mode}) exited ${r.status}:\n${r.stdout}${r.stderr}`);
  return { wallMs, cpuMs: cpu0 === null || cpu1 === null ? null : cpu1 - cpu0 };
}

function ensureBuilt(): void {
  const why = staleness(PROJECT_ROOT, "compiled");
  if (why === null) return;
  console.log(`dist/ cannot be used (${why}): building it first`);
  const r = spawnSync(process.execPath, [require.resolve("tsx/cli"), "scripts/build.ts"], {
    cwd: PROJECT_ROOT,
    stdio: "inherit",
  });
  if (r.status !== 0) throw new Error("npm run build failed");
}

interface Figures {
  medianMs: number;
  p95Ms: number;
  minMs: number;
  cpuMedianMs: number | null;
  samples: Sample[];
}

const round = (v: number | null) => (v === null ? null : Math.round(v * 10) / 10);

function figures(samples: Sample[]): Figures {
  const wall = samples.map((s) => s.wallMs);
  const cpu = samples.flatMap((s) => (s.cpuMs === null ? [] : [s.cpuMs]));
  return {
    medianMs: round(percentile(wall, 50)) ?? Number.NaN,
    p95Ms: round(percentile(wall, 95)) ?? Number.NaN,
    minMs: round(Math.min(...wall)) ?? Number.NaN,
    cpuMedianMs: round(percentile(cpu, 50)),
    samples: samples.map((s) => ({ wallMs: round(s.wallMs) ?? 0, cpuMs: round(s.cpuMs) })),
  };
}

interface CaseResult {
  command: string;
  goalMs: number;
  met: boolean;
  dist: Figures;
  tsx: Figures;
}

/** Per mode: wall median, p95, min and CPU median (ms); the speed-up of dist over tsx; the goal. */
function printTable(results: CaseResult[]): void {
  const width = Math.max(...results.map((r) => r.command.length));
  const ms = (v: number | null) => (v === null ? "–" : v.toFixed(0)).padStart(6);
  const cols = (f: Figures) => `${ms(f.medianMs)} ${ms(f.p95Ms)} ${ms(f.minMs)} ${ms(f.cpuMedianMs)}`;
  console.log(`${"".padEnd(width)}  dist (ms)                    │ tsx (ms)                     │`);
  console.log(
    `${"command".padEnd(width)}  median    p95    min    cpu │ median    p95    min    cpu │ speed-up  goal (dist median)`,
  );
  for (const r of results) {
    const speedUp = `${(r.tsx.medianMs / r.dist.medianMs).toFixed(1)}×`.padStart(8);
    console.log(
      `${r.command.padEnd(width)}  ${cols(r.dist)} │ ${cols(r.tsx)} │ ${speedUp}  < ${r.goalMs} ms ${r.met ? "✓" : "✗"}`,
    );
  }
}

/** Every case in both modes, `runs` times after `warmup` untimed rounds, interleaved. */
function measure(runs: number, warmup: number): Map<string, Sample[]> {
  const samples = new Map<string, Sample[]>();
  for (let i = -warmup; i < runs; i++) {
    for (const c of CASES) {
      for (const mode of Object.keys(MODES) as Mode[]) {
        const sample = timeOnce(c, mode);
        if (i < 0) continue; // warm-up: file cache, tsx's transform cache
        const key = `${c.name}/${mode}`;
        samples.set(key, [...(samples.get(key) ?? []), sample]);
      }
    }
  }
  return samples;
}

function main(): number {
  const { values } = parseArgs({
    options: { runs: { type: "string", default: "20" }, warmup: { type: "string", default: "2" } },
    strict: true,
  });
  const runs = Number(values.runs);
  const warmup = Number(values.warmup);
  ensureBuilt();
  const loadBefore = os.loadavg();
  const samples = measure(runs, warmup);
  const loadAfter = os.loadavg();
  const results = CASES.map((c): CaseResult => {
    const dist = figures(samples.get(`${c.name}/dist`) ?? []);
    const tsx = figures(samples.get(`${c.name}/tsx`) ?? []);
    return {
      command: `shipshape ${c.args.join(" ")}`,
      goalMs: c.goalMs,
      met: dist.medianMs < c.goalMs,
      dist,
      tsx,
    };
  });
  console.log(
    `\n${runs} runs each (after ${warmup} warm-up), load average ${loadBefore[0]?.toFixed(2)} → ${loadAfter[0]?.toFixed(2)} on ${os.cpus().length} CPUs`,
  );
  printTable(results);
  const out = path.join(__dirname, "results", "cli-startup.json");
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const machine = {
    cpus: os.cpus().length,
    model: os.cpus()[0]?.model,
    node: process.version,
    loadBefore,
    loadAfter,
  };
  fs.writeFileSync(
    out,
    `${JSON.stringify({ at: new Date().toISOString(), machine, runs, warmup, results }, null, 2)}\n`,
  );
  console.log(`wrote ${path.relative(process.cwd(), out)}`);
  return 0;
}

process.exit(main());
