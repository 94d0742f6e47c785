/**
 * Report model → one self-contained HTML file: the tables are plain HTML
 * (readable even with scripts off), the charts are drawn by uPlot, inlined,
 * from the model embedded as JSON. The Content-Security-Policy lets the page
 * load nothing at all and run only its own two scripts (by hash), so a
 * report opened from disk is the same offline and online, and text people
 * typed (a decision's reason) can never run as code.
 */
import { createHash } from "node:crypto";
import { formatValue } from "../analysis/format";
import type { ChartAssets } from "./assets";
import type { MetricPoint, MetricSeries, ReportModel } from "./model";
import { PAGE_SCRIPT } from "./page-script";

const esc = (s: string): string =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] as string,
  );

/** "1.2 s", "3 min 5 s", "2 h 4 min". */
export function duration(ms: number | null): string {
  if (ms === null) return "–";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s - m * 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

const utc = (ms: number) =>
  new Date(ms)
    .toISOString()
    .replace("T", " ")
    .replace(/\.\d+Z$/, " UTC");

function at(model: ReportModel, ms: number | null): string {
  if (ms === null) return "–";
  const off = Math.round((ms - model.startedAtMs) / 1000);
  const sign = off < 0 ? "-" : "+";
  const a = Math.abs(off);
  return `<time datetime="${new Date(ms).toISOString()}">${utc(ms).slice(11, 19)}</time> <span class="off">${sign}${Math.floor(a / 60)}:${String(a % 60).padStart(2, "0")}</span>`;
}

const table = (head: string[], rows: string[][], cls = ""): string =>
  `<table${cls ? ` class="${cls}"` : ""}><thead><tr>${head.map((h) => `<th>${h}</th>`).join("")}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join("")}</tr>`)
    .join("")}</tbody></table>`;

const value = (v: number | null, unit: MetricSeries["unit"]) =>
  v === null ? "–" : esc(formatValue(v, unit));

const badge = (verdict: string) => `<span class="v v-${esc(verdict)}">${esc(verdict)}</span>`;

function header(model: ReportModel): string {
  const r = model.recovery;
  const facts: Array<[string, string]> = [
    ["deployment", `${esc(model.workflowId)} <span class="off">run ${esc(model.runId)}</span>`],
    ["versions", `blue ${esc(model.blueVersion ?? "(none)")} → green ${esc(model.version)}`],
    ["artifact", esc(model.artifact)],
    ["requested by", `${esc(model.requestedBy)}: “${esc(model.reason)}”`],
    ["started", utc(model.startedAtMs)],
    [
      "ended",
      model.endedAtMs === null
        ? "still running"
        : `${utc(model.endedAtMs)} (${duration(model.endedAtMs - model.startedAtMs)})`,
    ],
    [
      "time to recovery",
      r
        ? `<strong id="ttr">${duration(r.ms)}</strong> (${esc(r.what)})`
        : model.outcome === "promoted"
          ? "– (promoted)"
          : "–",
    ],
  ];
  if (model.outcomeReason) facts.push(["why", esc(model.outcomeReason)]);
  return `<header><h1>${esc(model.service)}/${esc(model.environment)} ${esc(model.version)} <span id="outcome" class="o o-${esc(model.outcome)}">${esc(model.outcome)}</span></h1>
<dl>${facts.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join("")}</dl></header>`;
}

function pointRow(model: ReportModel, m: MetricSeries, p: MetricPoint): string[] {
  const limit = [p.limitLow, p.limitHigh]
    .map((v, i) => (v === null ? "" : `${i === 0 ? "min" : "max"} ${value(v, m.unit)}`))
    .filter(Boolean)
    .join(", ");
  return [
    at(model, p.atMs),
    `${p.stepIndex} (${p.weightPercent}%)`,
    value(p.blue, m.unit),
    value(p.green, m.unit),
    limit || "–",
    badge(p.verdict),
    esc(p.reason),
  ];
}

function metricCard(model: ReportModel, m: MetricSeries, i: number): string {
  const counts = new Map<string, number>();
  for (const p of m.points) counts.set(p.verdict, (counts.get(p.verdict) ?? 0) + 1);
  const summary = [...counts].map(([v, n]) => `${n} ${v}`).join(", ");
  const tripped = m.points.some((p) => p.verdict === "fail");
  return `<article class="metric${tripped ? " tripped" : ""}" data-metric="${esc(m.name)}">
<h3>${esc(m.name)}${m.critical ? ' <span class="crit">critical</span>' : ""}</h3>
<p class="meta">${esc(m.provider)} · limit ${esc(m.limit)}</p>
<div class="chart" id="chart-metric-${i}"></div>
<details><summary>${m.points.length} intervals: ${summary}</summary>
${table(
  ["time", "step", "blue", "green", "limit", "verdict", "why"],
  m.points.map((p) => pointRow(model, m, p)),
  "points",
)}</details>
</article>`;
}

function analysis(model: ReportModel): string {
  if (model.metrics.length === 0)
    return `<section id="analysis"><h2>Analysis</h2><p>No analysis ran.</p></section>`;
  const trips = model.metrics.flatMap((m) => {
    const p = m.points.find((x) => x.verdict === "fail");
    return p ? [{ m, p }] : [];
  });
  const trippedLine = trips.length
    ? `<p id="tripped" class="bad">Tripped: ${trips
        .map(
          ({ m, p }) => `<strong>${esc(m.name)}</strong> at ${p.weightPercent}% traffic — ${esc(p.reason)}`,
        )
        .join("; ")}</p>`
    : `<p id="tripped" class="good">No metric failed a measurement.</p>`;
  return `<section id="analysis"><h2>Analysis: ${model.metrics.length} metrics, blue vs green</h2>
${trippedLine}
<p class="legend"><span class="sw green"></span>green ${esc(model.version)} <span class="sw blue"></span>blue ${esc(model.blueVersion ?? "")} <span class="sw limit"></span>limit · verdicts: ${["pass", "marginal", "fail", "inconclusive", "error"].map(badge).join(" ")}</p>
<div class="grid">${model.metrics.map((m, i) => metricCard(model, m, i)).join("\n")}</div></section>`;
}

function sections(model: ReportModel): string {
  const phases = table(
    ["phase", "started", "took"],
    model.phases.map((p) => [
      esc(p.phase),
      at(model, p.startedAtMs),
      p.endedAtMs === null ? "(now)" : duration(p.endedAtMs - p.startedAtMs),
    ]),
    "phases",
  );
  const weights = table(
    ["time", "green", "blue", "why"],
    model.weights.map((w) => [at(model, w.atMs), `${w.green}%`, `${w.blue}%`, esc(w.cause)]),
    "weights",
  );
  const decisions = table(
    ["time", "decision", "by", "why", "signed"],
    model.decisions.map((d) => [
      at(model, d.atMs),
      esc(d.kind),
      esc(d.by),
      esc(d.reason),
      d.signedBy ? `<code>${esc(d.signedBy)}</code>` : "–",
    ]),
    "decisions",
  );
  const compensations = model.compensations.length
    ? table(
        ["compensation", "status", "attempts", "started", "took", "last error"],
        model.compensations.map((c) => [
          esc(c.name),
          esc(c.status),
          String(c.attempts),
          at(model, c.startedAtMs),
          c.startedAtMs !== null && c.endedAtMs !== null ? duration(c.endedAtMs - c.startedAtMs) : "–",
          c.lastError ? esc(c.lastError) : "–",
        ]),
        "compensations",
      )
    : "<p>None ran: nothing had to be undone.</p>";
  const hooks = model.hookCalls.length
    ? `<section id="hooks"><h2>Hooks and gates</h2>${table(
        ["time", "hook", "type", "green", "answer"],
        model.hookCalls.map((c) => [
          at(model, c.atMs),
          esc(c.name),
          esc(c.type),
          `${c.greenPercent}%`,
          `<span class="${c.ok === true ? "good" : c.ok === false ? "bad" : ""}">${esc(c.answer)}</span>`,
        ]),
        "hooks",
      )}</section>`
    : "";
  return `<section id="traffic"><h2>Traffic</h2>
<p class="legend"><span class="sw green"></span>green ${esc(model.version)} <span class="sw blue"></span>blue ${esc(model.blueVersion ?? "")} · shaded: phases · dashed: decisions</p>
<div class="chart" id="chart-weights"></div>
<details><summary>${model.weights.length} weight changes</summary>${weights}</details></section>
${analysis(model)}
<section id="phases"><h2>Phases</h2>${phases}</section>
${hooks}
<section id="decisions"><h2>Decisions</h2>${decisions}</section>
<section id="compensations"><h2>Compensations</h2>${compensations}</section>`;
}

const STYLE = `
body{font:14px/1.45 system-ui,sans-serif;color:#0f172a;margin:0 auto;max-width:1280px;padding:16px 24px}
h1{font-size:22px;margin:8px 0}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #e2e8f0}h3{font-size:15px;margin:0}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:0}dt{color:#64748b}dd{margin:0}
.o{font-size:14px;padding:2px 8px;border-radius:4px;vertical-align:middle;background:#e2e8f0}
.o-promoted{background:#dcfce7;color:#166534}.o-rolled-back,.o-failed,.o-terminated{background:#fee2e2;color:#991b1b}.o-needs-attention{background:#fef3c7;color:#92400e}
.off{color:#64748b;font-size:12px}.bad{color:#991b1b}.good{color:#166534}
table{border-collapse:collapse;margin:6px 0;font-size:13px}th,td{text-align:left;padding:3px 10px 3px 0;vertical-align:top;border-bottom:1px solid #f1f5f9}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(560px,1fr));gap:16px}
.metric{border:1px solid #e2e8f0;border-radius:6px;padding:10px;min-width:0}.metric.tripped{border-color:#dc2626;box-shadow:0 0 0 1px #dc2626}
.meta{margin:2px 0 6px;color:#475569;font-size:12px}.crit{font-size:11px;color:#991b1b;border:1px solid #fca5a5;border-radius:3px;padding:0 4px}
.chart{width:100%;min-height:40px}.v{font-size:12px;padding:0 5px;border-radius:3px;color:#fff}
.v-pass{background:#16a34a}.v-marginal{background:#f59e0b}.v-fail{background:#dc2626}.v-inconclusive{background:#9ca3af}.v-error{background:#7c3aed}
.sw{display:inline-block;width:14px;height:3px;vertical-align:middle;margin:0 4px 0 10px}.sw.green{background:#16a34a}.sw.blue{background:#2563eb}.sw.limit{background:#dc2626}
footer{margin-top:32px;color:#64748b;font-size:12px}summary{cursor:pointer;color:#334155}
`;

const hash = (s: string) => `'sha256-${createHash("sha256").update(s, "utf8").digest("base64")}'`;

/** The report page; `generatedAtMs` is the only thing not from the model. */
export function renderReportHtml(
  model: ReportModel,
  assets: ChartAssets,
  options: { generatedAtMs: number },
): string {
  // Inside <script type="application/json"> only "</script" could end it early; no "<" at all is simpler.
  const data = JSON.stringify(model).replace(/</g, "\\u003c");
  const csp = [
    "default-src 'none'",
    `script-src ${hash(assets.script)} ${hash(PAGE_SCRIPT)}`,
    "style-src 'unsafe-inline'",
    "img-src data:",
  ].join("; ");
  const title = `${model.service}/${model.environment} ${model.version} — ${model.outcome}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} · Shipshape report</title>
<style>${assets.css}</style><style>${STYLE}</style>
</head><body>
${header(model)}
${sections(model)}
<footer>Generated by Shipshape at ${utc(options.generatedAtMs)} from the deployment's Temporal history · times in UTC, +m:ss since the start · charts by uPlot ${esc(assets.version)} (MIT), inlined: this file needs no network.</footer>
<script type="application/json" id="report-data">${data}</script>
<script>${assets.script}</script>
<script>${PAGE_SCRIPT}</script>
</body></html>
`;
}
