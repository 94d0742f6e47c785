import fs from "node:fs";
import { extractReport } from "../lib/report/extract";
import { chartAssets } from "../lib/report/assets";
import { renderReportHtml } from "../lib/report/html";
import { recordedHistory } from "../test/support/recorded-history";
(async () => {
  const m = extractReport(await recordedHistory("analysis-failure"));
  const base = m.metrics[0]!;
  const mk = (name: string, unit: any, limit: string, f: (i: number) => [number | null, number | null, number | null, number | null, string]) => ({
    ...base, name, unit, limit, critical: false,
    points: base.points.map((p, i) => { const [g, b, hi, lo, v] = f(i); return { ...p, green: g, blue: b, limitHigh: hi, limitLow: lo, verdict: v as any, reason: `${name} synthetic` }; }),
  });
  m.metrics.push(
    mk("p95-latency", "ms", "max +20% vs baseline", (i) => [200 + i * 30, 200, 240, null, i === 3 ? "fail" : "pass"]),
    mk("checkout-conversion", "ratio", "min 0.95 of baseline", (i) => [0.03 - i * 0.002, 0.03, null, 0.0285, i >= 2 ? "marginal" : "pass"]),
    mk("orders-per-minute", "number", "Mann-Whitney", (i) => [i === 0 ? null : 40 + i, 42, 46, 38, i === 0 ? "inconclusive" : "pass"]),
  );
  fs.writeFileSync("/tmp/rep/synth.html", renderReportHtml(m, chartAssets(), { generatedAtMs: Date.now() }));
})();
