/**
 * The full demo (`npm run demo`): four real deployments of the sample shop on
 * the embedded stack (scripts/demo/demo-stack.ts), narrated live and checked
 * against what they are supposed to show (scripts/demo/scenarios.ts), then a
 * summary. Exit code 1 if anything did not behave as narrated.
 */
import fs from "node:fs";
import path from "node:path";
import { stateDir } from "../../lib/runtime/paths";
import type { Fact } from "./checks";
import { type Cleanups, type DemoStack, startDemoStack } from "./demo-stack";
import { waitForCtrlC } from "./keep";
import { reportsDir, writeDemoReport } from "./report";
import { SCENARIOS, type Scenario } from "./scenarios";
import { printDeliveryStats, type SummaryRow, summaryTable } from "./summary";

const say = (line = "") => console.log(line);

function report(facts: Fact[]): boolean {
  for (const f of facts) say(`  ${f.ok ? "✓" : "✗"} ${f.what}`);
  return facts.every((f) => f.ok);
}

async function runScenario(demo: DemoStack, scenario: Scenario, index: number): Promise<SummaryRow> {
  say(`\n▶ ${scenario.title}`);
  const rps = await demo.promScalar('sum(rate(http_requests_total{route=~"/api/.+"}[30s]))');
  say(`  shoppers: ${rps === null ? "?" : Math.round(rps)} req/s through the router (last 30 s)`);
  const { f, facts, recovery } = await scenario.run(demo);
  const behaved = report(facts);
  // The report is part of what the demo shows: a deployment without one did not behave as narrated.
  const reported = (await writeDemoReport(demo, f, index, say)) !== null;
  const ok = behaved && reported;
  if (!ok) say("  ✗ did not behave as narrated");
  return {
    deployment: scenario.deployment,
    expected: scenario.expected,
    outcome: f.result.outcome,
    durationMs: f.endedAt - f.startedAt,
    recovery,
    ok,
  };
}

async function runCleanups(cleanups: Cleanups): Promise<void> {
  say("stopping everything…");
  for (const c of [...cleanups].reverse()) {
    try {
      await c();
    } catch (err) {
      say(`  · cleanup: ${String(err)}`);
    }
  }
}

export async function runFullDemo(options: { keep: boolean }): Promise<number> {
  const started = Date.now();
  say("Shipshape demo — four real deployments of the sample shop, on the embedded stack.");
  const dir = path.join(stateDir(), "demo", `run-${Date.now()}`);
  const cleanups: Cleanups = [];
  let allOk = true;
  try {
    const demo = await startDemoStack(dir, cleanups, (line) => say(`  · ${line}`));
    const rows: SummaryRow[] = [];
    for (const [i, scenario] of SCENARIOS.entries()) rows.push(await runScenario(demo, scenario, i + 1));
    allOk = rows.every((r) => r.ok);
    say("\nSummary");
    for (const line of summaryTable(rows)) say(line);
    allOk = printDeliveryStats(demo, say) && allOk;
    say(`\nReports (one HTML page per deployment, open offline): ${reportsDir(dir)}`);
    say(
      `\nWeb UI: ${demo.uiUrl}/namespaces/${demo.stack.temporal.namespace}/workflows  (demo took ${((Date.now() - started) / 1000).toFixed(1)} s)`,
    );
    if (options.keep) await waitForCtrlC();
  } catch (err) {
    allOk = false;
    say(`\n✗ demo aborted: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  } finally {
    await runCleanups(cleanups);
  }
  if (allOk)
    fs.rmSync(dir, { recursive: true, force: true }); // logs, SQLite, PostgreSQL data of this run
  else say(`logs and state of this run: ${dir}`);
  say(allOk ? "demo finished: everything behaved as narrated." : "demo FAILED: see ✗ above.");
  return allOk ? 0 : 1;
}
