// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these tests are about the literal ${env:NAME} syntax
import { describe, expect, it } from "vitest";
import {
  formatProblems,
  listEnvRefs,
  loadReleaseConfig,
  preflightReleaseConfig,
  resolveEnvRefs,
  resolveEnvRefsOrThrow,
} from "../../../../lib/config";

const SECRET = "postgres://shop:very-s3cret@db:5432/shop";

describe("${env:NAME} references", () => {
  it("stay unresolved in the loaded config and its digest", async () => {
    const a = await loadReleaseConfig("test/fixtures/configs/valid/design-sketch.yaml");
    const b = await loadReleaseConfig("test/fixtures/configs/valid/design-sketch.yaml", {
      env: { SHOP_DATABASE_URL: SECRET },
    });
    expect(a.ok && b.ok).toBe(true);
    if (!a.ok || !b.ok) return;
    expect(a.config.database?.url).toBe("${env:SHOP_DATABASE_URL}");
    expect(b.digest).toBe(a.digest);
    expect(JSON.stringify(b)).not.toContain("very-s3cret");
  });

  it("resolve at deploy time, naming the variable and key path of every missing one", () => {
    const config = {
      database: { url: "${env:DB_URL}" },
      run: { env: { A: "prefix-${env:TOKEN}-${env:DB_URL}", B: "${env:EMPTY}" } },
    };
    expect(listEnvRefs(config).map((r) => `${r.path}:${r.name}`)).toEqual([
      "database.url:DB_URL",
      "run.env.A:TOKEN",
      "run.env.A:DB_URL",
      "run.env.B:EMPTY",
    ]);
    const ok = resolveEnvRefs(config, { DB_URL: SECRET, TOKEN: "t0ken-secret", EMPTY: "x" });
    expect(ok).toEqual({
      ok: true,
      config: { database: { url: SECRET }, run: { env: { A: `prefix-t0ken-secret-${SECRET}`, B: "x" } } },
    });
    const bad = resolveEnvRefs(
      config,
      { DB_URL: SECRET, TOKEN: "t0ken-secret", EMPTY: "" },
      { file: "s.yaml" },
    );
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    expect(bad.problems.map((p) => [p.path, p.message])).toEqual([
      ["run.env.B", "environment variable EMPTY is set but empty (referenced by run.env.B)"],
    ]);
    const none = resolveEnvRefs(config, { DB_UR: "x" });
    if (!none.ok) {
      expect(none.problems.map((p) => p.message)).toEqual([
        "environment variable DB_URL is not set (referenced by database.url)",
        "environment variable TOKEN is not set (referenced by run.env.A)",
        "environment variable DB_URL is not set (referenced by run.env.A)",
        "environment variable EMPTY is not set (referenced by run.env.B)",
      ]);
      expect(none.problems[0]?.fix).toContain("did you mean `DB_UR`?");
    }
  });

  it("never print a secret's value, in problems or thrown errors", async () => {
    const env = { SHOP_DATABASE_URL: SECRET, OTHER: "hunter2-secret" };
    const r = await loadReleaseConfig("test/fixtures/configs/broken/45-env-ref-missing.yaml", { env });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const report = formatProblems(r.problems, { sources: { [r.file]: r.source ?? "" } });
    expect(report).toContain("environment variable SHOP_DB_URL is not set");
    expect(report).toContain("test/fixtures/configs/broken/45-env-ref-missing.yaml:21:9");
    for (const secret of ["very-s3cret", "hunter2-secret"]) {
      expect(report).not.toContain(secret);
      expect(JSON.stringify(r.problems)).not.toContain(secret);
    }
    let thrown = "";
    try {
      resolveEnvRefsOrThrow({ a: "${env:MISSING}", b: "${env:OTHER}" }, env);
    } catch (e) {
      thrown = (e as Error).message;
    }
    expect(thrown).toContain("MISSING");
    expect(thrown).not.toContain("hunter2-secret");
  });

  it("preflight returns the resolved config only when everything is set", async () => {
    const missing = await preflightReleaseConfig("examples/shop/shipshape.yaml", {});
    expect(missing.ok).toBe(false);
    if (!missing.ok) {
      expect(missing.problems.map((p) => `${p.line}:${p.column} ${p.path}`)).toEqual([
        "13:20 run.env.DATABASE_URL",
        "24:9 database.url",
      ]);
    }
    const ok = await preflightReleaseConfig("examples/shop/shipshape.yaml", { SHOP_DATABASE_URL: SECRET });
    expect(ok.ok).toBe(true);
    if (ok.ok) {
      expect(ok.resolved.database?.url).toBe(SECRET);
      expect(ok.config.database?.url).toBe("${env:SHOP_DATABASE_URL}");
    }
  });
});
