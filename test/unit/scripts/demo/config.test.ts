/**
 * What the demo's release config must hold for its outcomes to be certain
 * (examples/shop/shipshape.demo.yaml, as scripts/demo deploys it).
 */
import { describe, expect, it } from "vitest";
import { releaseConfig } from "../../../../scripts/demo/config";
import { CHECKOUT_WATCHERS, V3_DEFECT_ENV } from "../../../../scripts/demo/scenarios";

const { config } = releaseConfig();
const analysis = config.release.analysis!;

describe("the demo's release config", () => {
  it("judges at least 15 metrics from the router and Prometheus with thresholds, relative and Mann-Whitney judges", () => {
    expect(analysis.metrics.length).toBeGreaterThanOrEqual(15);
    expect(new Set(analysis.metrics.map((m) => m.provider))).toEqual(new Set(["router", "prometheus"]));
    expect(new Set(analysis.metrics.map((m) => m.judge.kind))).toEqual(
      new Set(["threshold", "maxIncrease", "minRatioToBaseline", "mannWhitney"]),
    );
    for (const m of analysis.metrics.filter((x) => x.provider === "prometheus")) {
      expect(m.query, m.name).toContain('version="$version"');
    }
  });

  it("watches checkouts with critical metrics, and its smoke checks never take the checkout path", () => {
    for (const name of CHECKOUT_WATCHERS) {
      expect(analysis.metrics.find((m) => m.name === name)?.critical, name).toBe(true);
    }
    const paths = config.release.verify.map((c) => ("http" in c ? c.http.path : c.command));
    expect(paths).toEqual(["/health", "/api/products"]);
    expect(config.release.loadTest).toBeUndefined();
  });

  it("bakes 1% long enough for the figures it states, and never pauses on thin data at 1%", () => {
    const first = config.release.steps[0];
    expect(first).toMatchObject({ kind: "traffic", weight: 1 });
    const bake = first?.kind === "traffic" ? first.bake : 0;
    expect(bake).toBeGreaterThanOrEqual(60_000);
    expect(analysis.inconclusiveLimit).toBeGreaterThanOrEqual(bake / analysis.interval);
  });

  it("v3's release differs only by its payment defect", () => {
    const v3 = releaseConfig((raw) => Object.assign(raw.run.env, V3_DEFECT_ENV)).config;
    expect(v3.run.env).toEqual({ ...config.run.env, SHOP_DEFECT: "payment-currency" });
    expect(v3.release).toEqual(config.release);
  });
});
