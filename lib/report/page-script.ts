/**
 * The script of the report page: draws its charts with uPlot (inlined before
 * it) from the report model embedded as JSON. Kept as plain ES2019 text, not
 * a compiled function, so what runs in the browser is exactly this.
 *
 * It leaves `window.shipshapeReport` = { model, charts, marks, ready }: the uPlot
 * instances by chart id ("weights", "metric:<name>") and every verdict point
 * and decision marker it drew, by chart id (redrawn on resize) — what the browser test checks the picture by.
 */
export const PAGE_SCRIPT = `
(function () {
  "use strict";
  var model = JSON.parse(document.getElementById("report-data").textContent);
  var t0 = model.startedAtMs;
  var COLORS = { blue: "#2563eb", green: "#16a34a", limit: "#dc2626" };
  var VERDICT = { pass: "#16a34a", marginal: "#f59e0b", fail: "#dc2626", inconclusive: "#9ca3af", error: "#7c3aed" };
  var PHASE_FILL = ["rgba(148,163,184,0.16)", "rgba(148,163,184,0.30)"];
  var UNIT = { ratio: [100, "%"], s: [1000, "ms"], ms: [1, "ms"], number: [1, ""] };
  var state = { model: model, charts: {}, marks: {} };
  window.shipshapeReport = state;

  function secs(ms) { return (ms - t0) / 1000; }
  function clock(s) {
    var neg = s < 0; s = Math.abs(Math.round(s));
    var m = Math.floor(s / 60), r = s % 60;
    return (neg ? "-" : "") + m + ":" + (r < 10 ? "0" : "") + r;
  }
  function num(v) {
    if (v === null || v === undefined || !isFinite(v)) return "–";
    var a = Math.abs(v);
    return a >= 1000 ? String(Math.round(v)) : String(Number(v.toPrecision(3)));
  }
  function endSecs() {
    var end = model.endedAtMs || (model.weights.length ? model.weights[model.weights.length - 1].atMs : t0);
    return Math.max(secs(end), 1);
  }
  function width(el) { return Math.max(320, el.clientWidth - 4); }
  function xAxis() {
    return { label: "time since start (m:ss)", values: function (u, splits) { return splits.map(clock); } };
  }

  /** Phase bands behind the weight chart, with their names when they fit. */
  function drawPhases(u) {
    var ctx = u.ctx, top = u.bbox.top, h = u.bbox.height;
    ctx.save();
    ctx.font = Math.round(11 * devicePixelRatio) + "px sans-serif";
    ctx.textBaseline = "top";
    ctx.textAlign = "left";
    model.phases.forEach(function (p, i) {
      var x0 = u.valToPos(secs(p.startedAtMs), "x", true);
      var x1 = u.valToPos(secs(p.endedAtMs === null ? model.weights[model.weights.length - 1].atMs : p.endedAtMs), "x", true);
      ctx.fillStyle = p.phase === "rolling-back" ? "rgba(220,38,38,0.14)" : PHASE_FILL[i % 2];
      ctx.fillRect(x0, top, Math.max(1, x1 - x0), h);
      ctx.fillStyle = "#475569";
      var w = ctx.measureText(p.phase).width;
      if (x1 - x0 > w + 6) ctx.fillText(p.phase, x0 + 3, top + 3);
    });
    ctx.restore();
  }

  /** A dashed line per decision, labelled with its kind. */
  function drawDecisions(u) {
    var ctx = u.ctx, top = u.bbox.top, h = u.bbox.height;
    ctx.save();
    ctx.setLineDash([4 * devicePixelRatio, 3 * devicePixelRatio]);
    ctx.lineWidth = devicePixelRatio;
    ctx.font = Math.round(11 * devicePixelRatio) + "px sans-serif";
    ctx.textBaseline = "bottom";
    var marks = (state.marks.weights = []);
    model.decisions.forEach(function (d, i) {
      var x = u.valToPos(secs(d.atMs), "x", true);
      var stop = ["failure", "analysis", "abort", "cancel", "reject", "approval-timeout"].indexOf(d.kind) >= 0;
      ctx.strokeStyle = stop ? COLORS.limit : "#0f172a";
      ctx.beginPath(); ctx.moveTo(x, top); ctx.lineTo(x, top + h); ctx.stroke();
      ctx.fillStyle = ctx.strokeStyle;
      var label = d.kind + " (" + d.by + ")";
      // uPlot leaves its own text alignment on the context; labels near the right edge go left of their line.
      var right = x + 3 + ctx.measureText(label).width > u.bbox.left + u.bbox.width;
      ctx.textAlign = right ? "right" : "left";
      ctx.fillText(label, right ? x - 3 : x + 3, top + (30 + (i % 4) * 13) * devicePixelRatio);
      marks.push({ kind: "decision", decision: d.kind, x: secs(d.atMs) });
    });
    ctx.restore();
  }

  function weightChart() {
    var el = document.getElementById("chart-weights");
    var ws = model.weights;
    var data = [ws.map(function (w) { return secs(w.atMs); }), ws.map(function (w) { return w.green; }), ws.map(function (w) { return w.blue; })];
    var stepped = uPlot.paths.stepped({ align: 1 });
    var u = new uPlot({
      width: width(el), height: 260,
      scales: { x: { time: false, range: function () { return [0, endSecs()]; } }, y: { range: [0, 100] } },
      series: [
        { label: "t", value: function (u, v) { return v === null ? "–" : clock(v); } },
        { label: "green " + model.version + " %", stroke: COLORS.green, width: 2, paths: stepped, fill: "rgba(22,163,74,0.12)", points: { show: false } },
        { label: "blue " + (model.blueVersion || "") + " %", stroke: COLORS.blue, width: 2, paths: stepped, points: { show: false } },
      ],
      axes: [xAxis(), { label: "traffic %", values: function (u, s) { return s.map(function (v) { return v + "%"; }); } }],
      hooks: { drawClear: [drawPhases], draw: [drawDecisions] },
    }, data, el);
    state.charts.weights = u;
  }

  /** The verdict of every interval, as a coloured point on green's value (no value: on the floor). */
  function drawVerdicts(metric, factor) {
    return function (u) {
      var ctx = u.ctx;
      var marks = (state.marks["metric:" + metric.name] = []);
      ctx.save();
      metric.points.forEach(function (p) {
        var x = u.valToPos(secs(p.atMs), "x", true);
        var y = p.green === null ? u.bbox.top + u.bbox.height - 4 * devicePixelRatio : u.valToPos(p.green * factor, "y", true);
        var r = (p.verdict === "fail" ? 6 : 4) * devicePixelRatio;
        ctx.beginPath(); ctx.arc(x, y, r, 0, 2 * Math.PI);
        ctx.fillStyle = VERDICT[p.verdict] || "#000"; ctx.fill();
        ctx.lineWidth = devicePixelRatio; ctx.strokeStyle = "#fff"; ctx.stroke();
        marks.push({ kind: "verdict", verdict: p.verdict, x: secs(p.atMs), y: p.green });
      });
      ctx.restore();
    };
  }

  function metricChart(metric, el) {
    var unit = UNIT[metric.unit] || UNIT.number, f = unit[0], sfx = unit[1];
    var scaled = function (key) { return metric.points.map(function (p) { return p[key] === null ? null : p[key] * f; }); };
    // Blue before green: green is drawn on top, visible where the two are equal.
    var data = [metric.points.map(function (p) { return secs(p.atMs); }), scaled("blue"), scaled("green"), scaled("limitHigh"), scaled("limitLow")];
    var fmt = function (u, v) { return v === null ? "–" : num(v) + sfx; };
    var series = [
      { label: "t", value: function (u, v) { return v === null ? "–" : clock(v); } },
      { label: "blue " + (model.blueVersion || ""), stroke: COLORS.blue, width: 2, value: fmt, points: { show: false } },
      { label: "green " + model.version, stroke: COLORS.green, width: 2, value: fmt, points: { show: false } },
      { label: "limit (max)", stroke: COLORS.limit, width: 1.5, dash: [6, 4], value: fmt, points: { show: false } },
      { label: "limit (min)", stroke: COLORS.limit, width: 1.5, dash: [2, 3], value: fmt, points: { show: false } },
    ];
    // A limit the judge does not have (a max-only threshold has no min) is left out, legend and all.
    for (var k = data.length - 1; k >= 3; k--) {
      if (data[k].every(function (v) { return v === null; })) { data.splice(k, 1); series.splice(k, 1); }
    }
    var u = new uPlot({
      width: width(el), height: 220,
      scales: { x: { time: false, range: function () { return [0, endSecs()]; } } },
      series: series,
      axes: [xAxis(), { size: 64, values: function (u, s) { return s.map(function (v) { return num(v) + sfx; }); } }],
      hooks: { draw: [drawVerdicts(metric, f)] },
    }, data, el);
    state.charts["metric:" + metric.name] = u;
  }

  try {
    weightChart();
    model.metrics.forEach(function (m, i) { metricChart(m, document.getElementById("chart-metric-" + i)); });
    window.addEventListener("resize", function () {
      Object.keys(state.charts).forEach(function (k) {
        var u = state.charts[k];
        u.setSize({ width: width(u.root.parentNode), height: u.height });
      });
    });
    state.ready = true;
  } catch (e) {
    state.error = String(e && e.stack || e);
    throw e;
  }
})();
`;
