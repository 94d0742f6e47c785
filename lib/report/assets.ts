/**
 * The charting library inlined into every report: uPlot (MIT, ~50 kB
 * minified, no dependencies, canvas-drawn time series — a deployment's few
 * hundred points need nothing bigger). Read from node_modules at render time
 * so the report file carries it and opens offline.
 */
import fs from "node:fs";
import path from "node:path";

export interface ChartAssets {
  /** uPlot's browser build (defines the global `uPlot`). */
  script: string;
  css: string;
  version: string;
}

let cached: ChartAssets | undefined;

export function chartAssets(): ChartAssets {
  if (cached) return cached;
  const pkg = require.resolve("uplot/package.json");
  const dir = path.dirname(pkg);
  cached = {
    script: fs.readFileSync(path.join(dir, "dist", "uPlot.iife.min.js"), "utf8"),
    css: fs.readFileSync(path.join(dir, "dist", "uPlot.min.css"), "utf8"),
    version: (JSON.parse(fs.readFileSync(pkg, "utf8")) as { version: string }).version,
  };
  return cached;
}
