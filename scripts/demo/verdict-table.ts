/**
 * The numbers behind an analysis verdict, as a compact table — metric, blue,
 * green, limit, verdict — from the per-metric results of the interval the
 * verdict rests on (the workflow's status: analysis.latest).
 */
import { formatValue } from "../../lib/analysis/format";
import type { Unit } from "../../lib/analysis/types";
import { formatTable } from "../../lib/text-table";
import type { AnalysisInterval } from "../../workflows/deployment/state";

type Result = AnalysisInterval["results"][number];

const VERDICT: Record<Result["verdict"], string> = {
  pass: "✓ pass",
  marginal: "~ marginal",
  fail: "✗ FAIL",
  inconclusive: "? inconclusive",
  error: "! provider error",
};

/** "Mann-Whitney: increase beyond 100% at 99% confidence" → "MW: ≤ +100% (99%)"; other limits as they are. */
export function shortLimit(threshold: string): string {
  const mw = /^Mann-Whitney: (increase|decrease|change) beyond (\S+) at (\S+) confidence$/.exec(threshold);
  if (!mw) return threshold;
  const sign = mw[1] === "increase" ? "+" : mw[1] === "decrease" ? "-" : "±";
  return `MW: ${sign}${mw[2]} at most (${mw[3]})`;
}

function cell(v: number | null, unit: Unit): string {
  return v === null ? "—" : formatValue(v, unit);
}

function verdictCell(r: Result): string {
  if (r.verdict === "inconclusive" && r.noData) return "? not enough data";
  return `${VERDICT[r.verdict]}${r.critical && r.verdict === "fail" ? " (critical)" : ""}`;
}

/** Table lines for one interval's results; `units` maps metric name → display unit. */
export function verdictTable(
  interval: AnalysisInterval,
  units: Map<string, Unit>,
  indent = "    ",
): string[] {
  const rows = interval.results.map((r) => {
    const unit = units.get(r.metric) ?? "number";
    return [r.metric, cell(r.baseline, unit), cell(r.value, unit), shortLimit(r.threshold), verdictCell(r)];
  });
  return formatTable(
    [
      { header: "metric" },
      { header: "blue", align: "right" },
      { header: "green", align: "right" },
      { header: "limit" },
      { header: "verdict" },
    ],
    rows,
    { indent, rule: true },
  );
}
