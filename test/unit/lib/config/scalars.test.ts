// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these tests are about the literal ${env:NAME} syntax
import { describe, expect, it } from "vitest";
import { formatDuration, formatPercent, parseDuration, parsePercent, suggest } from "../../../../lib/config";
import { envRefSyntaxIssues } from "../../../../lib/config/env-refs";
import { formatPath } from "../../../../lib/config/problems";

describe("durations", () => {
  it.each([
    ["500ms", 500],
    ["30s", 30_000],
    ["5m", 300_000],
    ["1h30m", 5_400_000],
    ["1.5h", 5_400_000],
    ["2d", 172_800_000],
    ["1h0m5s", 3_605_000],
  ])("parses %s", (text, ms) => {
    expect(parseDuration(text)).toEqual({ ok: true, ms });
  });

  it.each([
    [30, "unit is missing"],
    ["30", "has no unit"],
    ["0s", "positive"],
    ["-5m", "positive"],
    ["5x", "is not a duration"],
    ["1m1h", "out of order"],
    ["5m5m", "repeats a unit"],
    ["", "empty"],
  ])("rejects %j", (input, reason) => {
    const r = parseDuration(input);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.reason).toContain(reason);
      expect(r.fix.length).toBeGreaterThan(5);
    }
  });

  it("formats back to the compact form", () => {
    expect(formatDuration(5_400_000)).toBe("1h30m");
    expect(formatDuration(500)).toBe("500ms");
    expect(formatDuration(90_061_001)).toBe("1d1h1m1s1ms");
    expect(formatDuration(0)).toBe("0s");
  });
});

describe("percentages", () => {
  it("normalizes percent strings and fractions to fractions", () => {
    expect(parsePercent("20%")).toEqual({ ok: true, fraction: 0.2 });
    expect(parsePercent("2.5%")).toEqual({ ok: true, fraction: 0.025 });
    expect(parsePercent(0.2)).toEqual({ ok: true, fraction: 0.2 });
    expect(parsePercent("150%")).toEqual({ ok: true, fraction: 1.5 });
    expect(parsePercent(1)).toEqual({ ok: true, fraction: 1 });
  });

  it("says clearly why a value is not a percentage", () => {
    const ambiguous = parsePercent(20);
    expect(ambiguous).toMatchObject({ ok: false });
    if (!ambiguous.ok) {
      expect(ambiguous.reason).toBe(
        "20 is ambiguous: a bare number is a fraction (0.2 = 20%), so 20 would mean 2000%",
      );
      expect(ambiguous.fix).toBe('write "20%" for 20 percent, or 0.2 as a fraction');
    }
    const quoted = parsePercent("0.2");
    if (!quoted.ok) expect(quoted.fix).toContain("without quotes");
    const tooBig = parsePercent("120%", { maxFraction: 1 });
    if (!tooBig.ok) expect(tooBig.reason).toBe("must be at most 100%");
    expect(parsePercent(-0.1).ok).toBe(false);
    expect(formatPercent(0.2)).toBe("20%");
  });
});

describe("did you mean", () => {
  it("suggests close names, including swapped letters", () => {
    expect(suggest("servce", ["service", "run"])).toBe("service");
    expect(suggest("lcoal", ["local", "aws"])).toBe("local");
    expect(suggest("Weight", ["weight", "bake"])).toBe("weight");
    expect(suggest("keepPrev", ["watch", "keepPrevious"])).toBe("keepPrevious");
  });

  it("stays quiet when nothing is close", () => {
    expect(suggest("banana", ["service", "run", "release"])).toBeUndefined();
    expect(suggest("x", [])).toBeUndefined();
  });
});

describe("key paths and env ref syntax", () => {
  it("formats key paths the way people write them", () => {
    expect(formatPath(["release", "steps", 1, "weight"])).toBe("release.steps[1].weight");
    expect(formatPath(["run", "env", "my var"])).toBe('run.env["my var"]');
    expect(formatPath([])).toBe("");
  });

  it("flags malformed references with the proper spelling", () => {
    expect(envRefSyntaxIssues("${env:OK_1}", []).length).toBe(0);
    expect(envRefSyntaxIssues("${DB_URL}", [])[0]?.fix).toBe("write ${env:DB_URL}");
    expect(envRefSyntaxIssues("${ENV:DB_URL}", [])[0]?.fix).toBe("write ${env:DB_URL}");
    expect(envRefSyntaxIssues("x ${env:DB_URL", [])[0]?.message).toContain("not closed");
    expect(envRefSyntaxIssues("${env:}", [])[0]?.message).toContain("names no variable");
    expect(envRefSyntaxIssues("${env:1BAD}", [])[0]?.message).toContain(
      "not a valid environment variable name",
    );
  });
});
