// The HTML report of a deployment in a real browser (headless Chromium from
// Debian): built from a recorded DeploymentWorkflow history, it renders with
// no console error and no network at all (uPlot is inlined, the CSP allows
// nothing else), its charts hold the recorded deployment's numbers, and text
// people typed (a decision's reason) stays text.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chartAssets } from "../../lib/report/assets";
import { extractReport } from "../../lib/report/extract";
import { renderReportHtml } from "../../lib/report/html";
import type { ReportModel } from "../../lib/report/model";
import { PROJECT_ROOT } from "../../lib/runtime/paths";
import { requireTool } from "../../lib/runtime/toolchain-manifest";
import { recordedHistory } from "../support/recorded-history";

/** What the page leaves on `window` (lib/report/page-script.ts); no DOM types here, hence the shapes. */
interface Mark {
  kind: string;
  verdict?: string;
  decision?: string;
  x: number;
}
interface Chart {
  data: Array<Array<number | null>>;
  series: Array<{ label: string }>;
  ctx: { getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> } };
  valToPos(v: number, scale: string, canvas: boolean): number;
}
interface ReportWindow {
  shipshapeReport?: {
    ready?: boolean;
    error?: string;
    charts: Record<string, Chart>;
    marks: Record<string, Mark[]>;
  };
  pwned?: number;
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "shipshape-report-"));
let browser: BrowserContext;
let model: ReportModel;

interface Loaded {
  page: Page;
  errors: string[];
  requests: string[];
}

function write(name: string, m: ReportModel): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, renderReportHtml(m, chartAssets(), { generatedAtMs: Date.UTC(2026, 11, 2) }));
  return file;
}

async function load(file: string): Promise<Loaded> {
  const page = await browser.newPage();
  await page.setViewportSize({ width: 1280, height: 900 });
  const errors: string[] = [];
  const requests: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") errors.push(`${m.type()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  page.on("request", (r) => requests.push(r.url()));
  await page.goto(`file://${file}`);
  await page.waitForFunction(() => {
    const r = (globalThis as unknown as ReportWindow).shipshapeReport;
    return r?.ready || r?.error;
  });
  return { page, errors, requests };
}

beforeAll(async () => {
  model = extractReport(await recordedHistory("analysis-failure"));
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "shipshape-chromium-"));
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: requireTool("chromium").path,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
});

afterAll(async () => {
  await browser?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("the HTML report of a recorded deployment, in Chromium", () => {
  it("renders offline with no console error, and its charts show the recorded deployment", async () => {
    const file = write("analysis-failure.html", model);
    const { page, errors, requests } = await load(file);
    try {
      expect(errors).toEqual([]);
      expect(requests).toEqual([`file://${file}`]);

      // The page's text: outcome, time to recovery, the metric that tripped, decisions, compensations.
      expect(await page.locator("#outcome").textContent()).toBe("rolled-back");
      expect(await page.locator("#ttr").textContent()).toBe(`${model.recovery!.ms} ms`);
      expect(await page.locator("#tripped").textContent()).toContain("error-rate at 50% traffic");
      const rows = page.locator("table.decisions tbody tr");
      const decisions: string[][] = [];
      for (let i = 0; i < (await rows.count()); i++)
        decisions.push(await rows.nth(i).locator("td").allTextContents());
      expect(decisions.map((cells) => cells.slice(1))).toEqual([
        ["start", "alice", "release 2", "–"],
        [
          "analysis",
          "analysis",
          "analysis failed: error-rate 20% > max 1% at 50% traffic (1 of 1 sample, critical)",
          "–",
        ],
      ]);
      const compensations = await page
        .locator("table.compensations tbody tr td:first-child")
        .allTextContents();
      expect(compensations).toEqual(["restoreTraffic", "rollbackSchema", "destroyGreen"]);

      // What the charts were drawn from, as uPlot holds it, and what was drawn on them.
      const charts = await page.evaluate(() => {
        const r = (globalThis as unknown as ReportWindow).shipshapeReport!;
        return Object.fromEntries(
          Object.entries(r.charts).map(([id, u]) => [
            id,
            { data: u.data, labels: u.series.map((s) => s.label), marks: r.marks[id] ?? [] },
          ]),
        );
      });
      expect(Object.keys(charts)).toEqual(["weights", "metric:error-rate"]);
      const secs = (ms: number) => (ms - model.startedAtMs) / 1000;

      const weights = charts.weights!;
      expect(weights.data[0]).toEqual(model.weights.map((w) => secs(w.atMs)));
      expect(weights.data[1]).toEqual([0, 10, 50, 0, 0]); // green %
      expect(weights.data[2]).toEqual([100, 90, 50, 100, 100]); // blue %
      expect(weights.labels).toEqual(["t", "green v2 %", "blue v1 %"]);
      expect(weights.marks.map((m) => m.decision)).toEqual(["start", "analysis"]);

      const errorRate = charts["metric:error-rate"]!;
      const points = model.metrics[0]!.points;
      expect(errorRate.labels).toEqual(["t", "blue v1", "green v2", "limit (max)"]);
      expect(errorRate.data[0]).toEqual(points.map((p) => secs(p.atMs)));
      // A ratio is charted in percent.
      expect(errorRate.data[2]!.map((v) => Number(v!.toFixed(6)))).toEqual([0.1, 0.1, 0.1, 20]); // green
      expect(errorRate.data[1]!.map((v) => Number(v!.toFixed(6)))).toEqual([0.1, 0.1, 0.1, 0.1]); // blue
      expect(errorRate.data[3]).toEqual([1, 1, 1, 1]);
      expect(errorRate.marks.map((m) => m.verdict)).toEqual(["pass", "pass", "pass", "fail"]);

      // The failing verdict is a red point on the canvas, where green's 20% is.
      const pixel = await page.evaluate(() => {
        const u = (globalThis as unknown as ReportWindow).shipshapeReport!.charts["metric:error-rate"]!;
        const x = Math.round(u.valToPos(u.data[0]![3]!, "x", true));
        const y = Math.round(u.valToPos(u.data[2]![3]!, "y", true));
        return Array.from(u.ctx.getImageData(x, y, 1, 1).data);
      });
      expect(pixel[0]).toBeGreaterThan(180);
      expect(pixel[1]).toBeLessThan(90);
      expect(pixel[2]).toBeLessThan(90);

      await page.screenshot({
        path: path.join(PROJECT_ROOT, ".shipshape", "report-html.png"),
        fullPage: true,
      });
    } finally {
      await page.close();
    }
  });

  it("a promoted deployment's report renders too: 100% on green, every verdict a pass", async () => {
    const promoted = extractReport(await recordedHistory("happy-path"));
    const { page, errors } = await load(write("happy-path.html", promoted));
    try {
      expect(errors).toEqual([]);
      expect(await page.locator("#outcome").textContent()).toBe("promoted");
      expect(await page.locator("#tripped").textContent()).toBe("No metric failed a measurement.");
      const marks = await page.evaluate(() => (globalThis as unknown as ReportWindow).shipshapeReport!.marks);
      const verdicts = Object.entries(marks)
        .filter(([id]) => id.startsWith("metric:"))
        .flatMap(([, m]) => m.map((x) => x.verdict));
      expect(verdicts.length).toBe(promoted.metrics.flatMap((m) => m.points).length);
      expect(new Set(verdicts)).toEqual(new Set(["pass"]));
    } finally {
      await page.close();
    }
  });

  it("what people typed stays text: markup in a decision's reason neither renders nor runs", async () => {
    const hostile = '</script><script>window.pwned=1</script><img src=x onerror="window.pwned=2">';
    const m: ReportModel = {
      ...model,
      decisions: model.decisions.map((d, i) => (i === 0 ? { ...d, reason: hostile } : d)),
    };
    const { page, errors, requests } = await load(write("hostile.html", m));
    try {
      expect(errors).toEqual([]);
      expect(requests).toHaveLength(1);
      expect(await page.evaluate(() => (globalThis as unknown as ReportWindow).pwned)).toBeUndefined();
      expect(await page.locator("table.decisions tbody tr").first().textContent()).toContain(hostile);
      expect(await page.locator("table.decisions img").count()).toBe(0);
    } finally {
      await page.close();
    }
  });
});
