// The `shipshape` bin, spawned as users run it.
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";

function shipshape(...args: string[]) {
  const r = spawnSync(process.execPath, ["bin/shipshape.cjs", ...args], {
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1", SHOP_DATABASE_URL: "" },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("shipshape validate", () => {
  it("exits 0 with a one-line summary for a valid config", () => {
    const r = shipshape("validate", "examples/shop/shipshape.yaml");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^✓ examples\/shop\/shipshape\.yaml is valid: service shop; environments staging, production; steps 1% \(2m\) → 10% \(5m\) → approval before-full-traffic → 50% \(5m\) → 100% \(10m\); 3 metrics; 1 app config file checked; env SHOP_DATABASE_URL resolved at deploy time; digest [0-9a-f]{12}$/,
    );
  });

  it("exits 2 with the full report for a broken config", () => {
    const r = shipshape("validate", "test/fixtures/configs/broken/26-weights-decreasing.yaml");
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(
      "test/fixtures/configs/broken/26-weights-decreasing.yaml:14:17 error release.steps[1].weight",
    );
    expect(r.stderr).toContain("step weights must be strictly increasing, but 5 comes after 50");
    expect(r.stderr).toContain("14 |     - { weight: 5, bake: 1m }");
    expect(r.stderr).toContain("fix:      order the traffic steps by weight");
    expect(r.stderr.trimEnd().split("\n").at(-1)).toBe(
      "1 error in test/fixtures/configs/broken/26-weights-decreasing.yaml",
    );
  });

  it("--json gives the problems as data", () => {
    const r = shipshape("validate", "--json", "test/fixtures/configs/broken/01-unknown-top-key.yaml");
    expect(r.code).toBe(2);
    const out = JSON.parse(r.stdout);
    expect(out).toEqual({
      ok: false,
      file: "test/fixtures/configs/broken/01-unknown-top-key.yaml",
      errors: 1,
      warnings: 0,
      problems: [
        {
          file: "test/fixtures/configs/broken/01-unknown-top-key.yaml",
          line: 3,
          column: 1,
          path: "servce",
          severity: "error",
          code: "unknown-key",
          message: "unknown key `servce` in the top level",
          expected: "one of: service, run, environments, database, release, appConfig",
          fix: "did you mean `service`?",
        },
      ],
    });
    const ok = JSON.parse(shipshape("validate", "--json", "examples/shop/shipshape.yaml").stdout);
    expect(ok).toMatchObject({
      ok: true,
      file: "examples/shop/shipshape.yaml",
      errors: 0,
      warnings: 0,
      problems: [],
    });
    expect(ok.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(ok.summary).toContain("is valid");
  });

  it("--env requires referenced variables to be set, naming them", () => {
    const r = shipshape("validate", "--env", "examples/shop/shipshape.yaml");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      "environment variable SHOP_DATABASE_URL is set but empty (referenced by database.url)",
    );
  });

  it("exits 2 on usage errors and a missing file", () => {
    const unknown = shipshape("validate", "--bogus");
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown option '--bogus'");
    const typo = shipshape("valdate");
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain("validate");
    const missing = shipshape("validate", "nope/shipshape.yaml");
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("config file nope/shipshape.yaml does not exist");
    expect(shipshape("--help").code).toBe(0);
  });
});
