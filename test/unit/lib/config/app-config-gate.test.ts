import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseEnvFile, runAppConfigGate } from "../../../../lib/config";

describe(".env parsing", () => {
  it("reads KEY=VALUE lines with positions, quotes, export and comments", () => {
    const text = "# c\nexport A=1\nB = \"two words\" # x\nC='x#y'\nD=plain # comment\n\nE=\n";
    const parsed = parseEnvFile(text, ".env");
    expect(parsed.problems).toEqual([]);
    expect(parsed.data).toEqual({ A: "1", B: "two words", C: "x#y", D: "plain", E: "" });
    expect(parsed.positionOf(["B"], "value")).toEqual({ line: 3, column: 5 });
    expect(parsed.positionOf(["A"], "key")).toEqual({ line: 2, column: 8 });
  });
});

describe("runAppConfigGate", () => {
  const dir = mkdtempSync(join(tmpdir(), "shipshape-gate-"));
  writeFileSync(join(dir, "app.yaml"), "port: 8080\nmode: fast\n");
  writeFileSync(
    join(dir, "app.schema.json"),
    JSON.stringify({
      type: "object",
      properties: { port: { type: "integer" }, mode: { enum: ["safe", "fast"] } },
      additionalProperties: false,
    }),
  );
  writeFileSync(join(dir, ".env.production"), "PORT=80\nSECRET=abc-super-secret\n");
  writeFileSync(
    join(dir, "env.schema.json"),
    JSON.stringify({
      type: "object",
      properties: { PORT: { type: "integer", maximum: 10 }, SECRET: { minLength: 100 } },
    }),
  );

  it("passes valid files and runs check commands with the file in $SHIPSHAPE_CONFIG_FILE", async () => {
    const problems = await runAppConfigGate(
      {
        appConfig: [
          { file: "app.yaml", schema: "app.schema.json", timeout: 30_000 },
          { file: "app.yaml", check: 'grep -q "port: 8080" "$SHIPSHAPE_CONFIG_FILE"', timeout: 30_000 },
        ],
      },
      dir,
      { runChecks: true, checkEnv: { env: { PATH: process.env.PATH ?? "" }, secrets: [] } },
    );
    expect(problems).toEqual([]);
  });

  it("reports .env schema failures at the value without printing values", async () => {
    const problems = await runAppConfigGate(
      { appConfig: [{ file: ".env.production", schema: "env.schema.json", timeout: 30_000 }] },
      dir,
      { releaseFile: join(dir, "shipshape.yaml") },
    );
    expect(problems.map((p) => `${p.line}:${p.column} ${p.path}`)).toEqual(["1:6 PORT", "2:8 SECRET"]);
    expect(JSON.stringify(problems)).not.toContain("abc-super-secret");
    expect(problems.every((p) => p.found === undefined)).toBe(true);
  });

  it("reports a failing and a hanging check command with their output", async () => {
    const problems = await runAppConfigGate(
      {
        appConfig: [
          {
            file: "app.yaml",
            check: "echo 'mode: fast is not allowed in production' >&2; exit 4",
            timeout: 30_000,
          },
          { file: "app.yaml", check: "sleep 10", timeout: 300 },
        ],
      },
      dir,
      { runChecks: true, checkEnv: { env: { PATH: process.env.PATH ?? "" }, secrets: [] } },
    );
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatchObject({
      path: "appConfig[0].check",
      code: "app-config-check",
      found: "mode: fast is not allowed in production",
    });
    expect(problems[0]?.message).toContain("exit code 4");
    expect(problems[1]?.message).toContain("did not finish within 300ms");
  });
});
