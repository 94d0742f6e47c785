// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${name} is the query template syntax under test, not a JS template
import { describe, expect, it } from "vitest";
import {
  expandTemplate,
  promDuration,
  promQuote,
  sideValues,
  TemplateError,
} from "../../../../activities/metrics/common";
import type { MeasureRequest } from "../../../../lib/drivers/metric-provider";

const req = (over: Partial<MeasureRequest> = {}): MeasureRequest => ({
  metric: { name: "m", query: "q" },
  canary: { version: "v2", backend: "green" },
  baseline: { version: "v1", backend: "blue" },
  windowSeconds: 30,
  service: "shop",
  environment: "production",
  ...over,
});

describe("query templating", () => {
  it("substitutes $name and ${name} per side", () => {
    const t = 'sum(rate(x{service="$service",version="${version}",env="$environment"}[$interval]))';
    expect(expandTemplate(t, sideValues(req(), "canary"))).toBe(
      'sum(rate(x{service="shop",version="v2",env="production"}[30s]))',
    );
    expect(expandTemplate(t, sideValues(req(), "baseline"))).toBe(
      'sum(rate(x{service="shop",version="v1",env="production"}[30s]))',
    );
  });

  it("$canary_version and $baseline_version are the same on both sides; $backend follows the side", () => {
    const t = "$canary_version/$baseline_version/$backend/$window_seconds";
    expect(expandTemplate(t, sideValues(req(), "canary"))).toBe("v2/v1/green/30");
    expect(expandTemplate(t, sideValues(req(), "baseline"))).toBe("v2/v1/blue/30");
  });

  it("$$ is a literal dollar; ${version}x works where $versionx would not", () => {
    const v = sideValues(req(), "canary");
    expect(expandTemplate("cost $$5 ${version}x", v)).toBe("cost $5 v2x");
  });

  it("an unknown variable (a typo) is an error naming the known ones, not a silent empty match", () => {
    expect(() => expandTemplate('x{version="$verison"}', sideValues(req(), "canary"))).toThrow(TemplateError);
    expect(() => expandTemplate("$versionx", sideValues(req(), "canary"))).toThrow(
      /unknown template variable \$versionx in .*; known: \$service/,
    );
  });

  it("without a baseline, $baseline_version is an error and the baseline side has no $version", () => {
    const r = req({ baseline: { version: null, backend: "blue" } });
    expect(() => expandTemplate("$baseline_version", sideValues(r, "canary"))).toThrow(/no value/);
    expect(() => expandTemplate("$version", sideValues(r, "baseline"))).toThrow(TemplateError);
    expect(expandTemplate("$version", sideValues(r, "canary"))).toBe("v2");
  });

  it("the encoder is applied to substituted values only", () => {
    const r = req({ canary: { version: 'a"b\\c', backend: "green" } });
    expect(expandTemplate('x{version="$version"}', sideValues(r, "canary"), promQuote)).toBe(
      'x{version="a\\"b\\\\c"}',
    );
    const u = req({ canary: { version: "1.0 beta&x=1", backend: "green" } });
    expect(expandTemplate("/m?v=$version&s=$service", sideValues(u, "canary"), encodeURIComponent)).toBe(
      "/m?v=1.0%20beta%26x%3D1&s=shop",
    );
  });

  it("$interval is a whole number of seconds, at least 1s", () => {
    expect(promDuration(30)).toBe("30s");
    expect(promDuration(0.2)).toBe("1s");
    expect(promDuration(9.6)).toBe("10s");
    expect(sideValues(req({ windowSeconds: 300 }), "canary").interval).toBe("300s");
  });
});
