/**
 * `npm run chaos` — the crash-safety proof: seeded, repeatable deployments of
 * the sample shop under load while workers, pulumi, the Temporal server,
 * PostgreSQL and a metrics provider fail at random moments, and operators
 * abort and approve at random points. Every run is checked against the
 * deployment invariants (scripts/chaos/invariants.ts).
 *
 *   npm run chaos                          # 8 runs, the default seed
 *   npm run chaos -- --runs 50 --seed 7    # longer
 *   npm run chaos -- --runs 4 --require-every-fault   # CI's bounded form
 *   npm run chaos -- --runs 3 --force-fault proxy-kill # one fault kind in every run
 *
 * Exit code 0 only when no invariant was violated (and, with
 * --require-every-fault, every fault kind was injected at least once: up to
 * three extra runs inject, early, the kinds that have not hit yet).
 * The report is printed and written to bench/results/chaos.json.
 */
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { z } from "zod";
import { PROJECT_ROOT } from "../lib/runtime/paths";
import { runCampaign } from "./chaos/campaign";
import { FAULT_KINDS } from "./chaos/plan";
import { formatReport, summarize } from "./chaos/report";

const Args = z.object({
  runs: z.coerce.number().int().min(1, "--runs must be at least 1").max(1000),
  seed: z.coerce.number().int().nonnegative("--seed must be a non-negative integer"),
  "faults-per-run": z.coerce.number().int().min(0).max(FAULT_KINDS.length),
  "force-fault": z.array(
    z.enum(FAULT_KINDS, { error: () => `--force-fault must be one of ${FAULT_KINDS.join(", ")}` }),
  ),
  rps: z.coerce.number().positive("--rps must be positive").max(2000),
  concurrency: z.coerce.number().int().min(1).max(256),
  "require-every-fault": z.boolean(),
  "keep-state": z.boolean(),
  out: z.string(),
});

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      runs: { type: "string", default: "8" },
      seed: { type: "string", default: "20261126" },
      "faults-per-run": { type: "string", default: "2" },
      rps: { type: "string", default: "80" },
      concurrency: { type: "string", default: "12" },
      "require-every-fault": { type: "boolean", default: false },
      "force-fault": { type: "string", multiple: true, default: [] },
      "keep-state": { type: "boolean", default: false },
      out: { type: "string", default: path.join(PROJECT_ROOT, "bench", "results", "chaos.json") },
    },
    strict: true,
  });
  const parsed = Args.safeParse(values);
  if (!parsed.success) {
    for (const issue of parsed.error.issues)
      console.error(`chaos: --${issue.path.join(".")}: ${issue.message}`);
    console.error(
      "usage: npm run chaos -- [--runs 8] [--seed 20261126] [--faults-per-run 2] [--rps 80] [--require-every-fault] [--force-fault <kind>]…",
    );
    return 2;
  }
  const a = parsed.data;
  console.log(
    `Shipshape chaos: ${a.runs} run(s), seed ${a.seed}, ${a["faults-per-run"]} fault(s) per run, load ${a.rps} req/s`,
  );
  const result = await runCampaign({
    seed: a.seed,
    runs: a.runs,
    faultsPerRun: a["faults-per-run"],
    rps: a.rps,
    concurrency: a.concurrency,
    keepState: a["keep-state"],
    coverEveryFault: a["require-every-fault"],
    force: a["force-fault"],
    log: (line) => console.log(line),
  });
  const report = summarize(result);
  console.log(`\n${formatReport(report)}`);
  fs.mkdirSync(path.dirname(a.out), { recursive: true });
  fs.writeFileSync(a.out, `${JSON.stringify({ report, runs: result.runs }, null, 2)}\n`);
  console.log(`report: ${path.relative(process.cwd(), a.out)}`);
  const failed = report.violations.length > 0 || report.runs < report.plannedRuns;
  if (failed) console.log(`state of the campaign kept for inspection: ${result.stateDir}`);
  if (a["require-every-fault"] && report.kindsNeverInjected.length > 0) {
    console.log(`✗ --require-every-fault: never injected: ${report.kindsNeverInjected.join(", ")}`);
    return 1;
  }
  console.log(failed ? "✗ chaos campaign FAILED" : "✓ chaos campaign clean: 0 invariant violations");
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`chaos: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
