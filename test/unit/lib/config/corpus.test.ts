// The broken-config corpus: every file in test/fixtures/configs/broken states the
// problems it must produce in its header:
//   # expect: [app-file:]LINE:COL KEY.PATH "substring of the message or fix"
// The loader must report exactly those errors (no more, no fewer), at those
// positions, with that key path and that suggestion.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { formatProblems, loadReleaseConfig, type Problem } from "../../../../lib/config";

const DIR = join(__dirname, "..", "..", "..", "fixtures", "configs", "broken");
const REL_DIR = "test/fixtures/configs/broken";
const SECRET = "s3cr3t-value";
const ENV = { SHOP_DATABASE_URL: `postgres://shop:${SECRET}@db/shop`, HOME: "/home/ci" };

interface Expectation {
  file: string;
  line: number;
  column: number;
  path: string;
  text: string;
}

const EXPECT = /^# expect: (?:([^\s:]*[./][^\s:]*):)?(\d+):(\d+) (\S+) (".*")$/;

function expectationsOf(fixture: string): Expectation[] {
  const text = readFileSync(join(DIR, fixture), "utf8");
  return text
    .split("\n")
    .filter((l) => l.startsWith("# expect:"))
    .map((l) => {
      const m = EXPECT.exec(l);
      if (!m) throw new Error(`${fixture}: malformed expectation: ${l}`);
      return {
        file: m[1] ? `${REL_DIR}/${m[1]}` : `${REL_DIR}/${fixture}`,
        line: Number(m[2]),
        column: Number(m[3]),
        path: m[4] === "-" ? "" : m[4]!,
        text: JSON.parse(m[5]!) as string,
      };
    });
}

const fixtures = readdirSync(DIR)
  .filter((f) => f.endsWith(".yaml"))
  .sort();

describe("broken config corpus", () => {
  it("has at least 40 broken configs, each with expectations", () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(40);
    for (const f of fixtures) expect(expectationsOf(f).length, f).toBeGreaterThan(0);
  });

  it.each(fixtures)("%s", async (fixture) => {
    const expectations = expectationsOf(fixture);
    const result = await loadReleaseConfig(`${REL_DIR}/${fixture}`, { env: ENV, runChecks: true });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const errors = result.problems.filter((p) => p.severity === "error");
    const show = (ps: Problem[]) =>
      ps.map((p) => `${p.file}:${p.line}:${p.column} ${p.path} ${p.message} | ${p.fix}`).join("\n");
    for (const e of expectations) {
      const match = errors.find(
        (p) =>
          p.file === e.file &&
          p.line === e.line &&
          p.column === e.column &&
          p.path === e.path &&
          `${p.message}\n${p.fix ?? ""}`.includes(e.text),
      );
      expect(
        match,
        `expected ${e.file}:${e.line}:${e.column} ${e.path} ${JSON.stringify(e.text)} among:\n${show(errors)}`,
      ).toBeDefined();
    }
    expect(errors.length, `unexpected extra problems:\n${show(errors)}`).toBe(expectations.length);
    // Every problem explains itself.
    for (const p of errors) {
      expect(p.message.length).toBeGreaterThan(10);
      expect(p.fix ?? "", `${p.path} has no fix`).not.toBe("");
    }
    // Secrets (env values, .env contents) never reach the report.
    const report = formatProblems(result.problems, { sources: { [result.file]: result.source ?? "" } });
    expect(report).not.toContain(SECRET);
    expect(report).not.toContain("hunter2");
    expect(JSON.stringify(result.problems)).not.toContain(SECRET);
    expect(JSON.stringify(result.problems)).not.toContain("hunter2");
  });
});
