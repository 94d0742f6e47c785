// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these tests are about the literal ${env:NAME} syntax
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadReleaseConfig, parseReleaseConfig, type ReleaseConfig } from "../../../../lib/config";

async function load(file: string): Promise<{ config: ReleaseConfig; digest: string }> {
  const r = await loadReleaseConfig(file);
  if (!r.ok)
    throw new Error(r.problems.map((p) => `${p.file}:${p.line}:${p.column} ${p.message}`).join("\n"));
  expect(r.warnings).toEqual([]);
  return r;
}

describe("valid configs", () => {
  it("loads the design sketch to the normalized typed object", async () => {
    const { config, digest } = await load("test/fixtures/configs/valid/design-sketch.yaml");
    expect(digest).toMatch(/^[0-9a-f]{64}$/);
    expect(config.service).toBe("shop");
    expect(config.run).toEqual({
      command: "node examples/shop/server.js",
      instances: 2,
      healthPath: "/health",
      env: { DATABASE_URL: "${env:SHOP_DATABASE_URL}" },
      startTimeout: 30_000,
    });
    expect(config.environments.production).toEqual({
      target: "local",
      approvals: {
        approvers: ["alice", "bob"],
        allowSelfApproval: false,
        timeout: 1_800_000,
        onTimeout: "abort",
      },
      compensationAttentionAfter: 600_000,
    });
    expect(config.database).toEqual({ url: "${env:SHOP_DATABASE_URL}", migrations: "./migrations" });
    expect(config.release.verify).toEqual([
      { http: { path: "/health", method: "GET", expect: 200, timeout: 5000 } },
      { http: { path: "/api/products", method: "GET", expect: 200, bodyContains: '"items"', timeout: 5000 } },
    ]);
    expect(config.release.loadTest).toEqual({ rps: 50, duration: 30_000, path: "/", maxErrorRate: 0.01 });
    expect(config.release.steps).toEqual([
      { kind: "traffic", weight: 1, bake: 120_000 },
      { kind: "traffic", weight: 10, bake: 300_000 },
      { kind: "approval", approval: "before-full-traffic" },
      { kind: "traffic", weight: 100, bake: 600_000 },
    ]);
    const analysis = config.release.analysis!;
    expect(analysis).toMatchObject({
      interval: 10_000,
      minRequests: 50,
      failureLimit: 1,
      consecutiveErrorLimit: 3,
      inconclusiveLimit: 0,
    });
    expect(analysis.metrics.map((m) => [m.name, m.provider, m.critical, m.noData, m.judge])).toEqual([
      ["error-rate", "router", true, "inconclusive", { kind: "threshold", max: 0.01 }],
      ["p95-latency", "router", false, "inconclusive", { kind: "maxIncrease", fraction: 0.2 }],
      [
        "checkout-conversion",
        "prometheus",
        false,
        "inconclusive",
        { kind: "minRatioToBaseline", ratio: 0.95 },
      ],
    ]);
    expect(analysis.metrics[2]!.query).toContain('checkout_total{version="$version"}');
    expect(config.release.postPromotion).toEqual({ watch: 900_000, keepPrevious: 1_800_000 });
    expect(config.appConfig).toEqual([]);
  });

  it("loads the sample shop's config, app config gate included", async () => {
    const r = await loadReleaseConfig("examples/shop/shipshape.yaml");
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const { config } = r;
    expect(config.service).toBe("shop");
    expect(config.run.command).toBe("node server.js");
    expect(Object.keys(config.environments)).toEqual(["staging", "production"]);
    expect(config.environments.staging!.approvals).toMatchObject({
      approvers: ["ci-bot"],
      allowSelfApproval: true,
    });
    expect(config.environments.production!.compensationAttentionAfter).toBe(300_000);
    expect(config.release.loadTest?.maxErrorRate).toBe(0.01);
    expect(config.release.steps[3]).toEqual({
      kind: "traffic",
      weight: 50,
      bake: 300_000,
      analysis: { failureLimit: 0 },
    });
    expect(config.release.analysis?.metrics[0]?.judge).toEqual({ kind: "threshold", max: 0.01 });
    expect(config.appConfig).toEqual([
      { file: "./config/app.json", schema: "./config/app.schema.json", timeout: 30_000 },
    ]);
    expect(r.envRefs).toEqual([
      { path: "run.env.DATABASE_URL", name: "SHOP_DATABASE_URL", line: 13, column: 20 },
      { path: "database.url", name: "SHOP_DATABASE_URL", line: 24, column: 9 },
    ]);
  });

  it("digest ignores comments, formatting and key order but not values", async () => {
    const base = readFileSync("test/fixtures/configs/valid/design-sketch.yaml", "utf8");
    const dir = join(process.cwd(), "test/fixtures/configs/valid");
    const a = await parseReleaseConfig(base, "a.yaml", dir);
    const reordered = base
      .replace(/^#.*\n/gm, "")
      .replace(
        "  instances: 2\n  healthPath: /health\n",
        "  healthPath: /health   # moved\n  instances: 2\n",
      );
    const b = await parseReleaseConfig(reordered, "b.yaml", dir);
    const c = await parseReleaseConfig(base.replace("instances: 2", "instances: 3"), "c.yaml", dir);
    expect(a.ok && b.ok && c.ok).toBe(true);
    if (!a.ok || !b.ok || !c.ok) return;
    expect(b.digest).toBe(a.digest);
    expect(c.digest).not.toBe(a.digest);
  });

  it("accepts the other judges, an aws target and .env/yaml app configs", async () => {
    const dir = join(process.cwd(), "test/fixtures/configs/broken");
    const text = `service: api
run: { command: node api.js, env: { PORT: 8080, DEBUG: false } }
environments:
  prod:
    target: aws
    aws: { region: eu-west-1, cluster: main, listenerArn: "arn:aws:elasticloadbalancing:eu-west-1:1:listener/app/x", image: "api:$version" }
release:
  steps: [{ weight: 5, bake: 1h30m }, { weight: 100 }]
  analysis:
    metrics:
      - { name: latency, provider: prometheus, query: q, mannWhitney: { confidence: 99% } }
      - { name: errors, provider: cloudwatch, query: q, min: 0, max: "2.5%" }
      - { name: ratio, provider: http-json, query: q, minRatioToBaseline: 90% }
appConfig:
  - { file: ./app/bad-values.yaml, check: "test -f \\"$SHIPSHAPE_CONFIG_FILE\\"" }
`;
    const r = await parseReleaseConfig(text, "api.yaml", dir);
    if (!r.ok) throw new Error(JSON.stringify(r.problems, null, 1));
    expect(r.config.run.env).toEqual({ PORT: "8080", DEBUG: "false" });
    expect(r.config.environments.prod!.aws?.cluster).toBe("main");
    expect(r.config.release.steps).toEqual([
      { kind: "traffic", weight: 5, bake: 5_400_000 },
      { kind: "traffic", weight: 100, bake: 0 },
    ]);
    expect(r.config.release.analysis!.metrics.map((m) => m.judge)).toEqual([
      { kind: "mannWhitney", tolerance: 0.1, confidence: 0.99, worse: "higher" },
      { kind: "threshold", min: 0, max: 0.025 },
      { kind: "minRatioToBaseline", ratio: 0.9 },
    ]);
  });
});

describe("reporting", () => {
  it("reports every problem at once, sorted by line and column", async () => {
    const text = `servce: shop
run:
  command: x
  instances: many
environments:
  production: { target: lcoal }
release:
  steps:
    - { weight: 50, bake: 2x }
    - { weight: 20 }
  analysis:
    metrics:
      - { name: e, provider: router, query: q }
`;
    const r = await parseReleaseConfig(text, "multi.yaml", process.cwd());
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems.map((p) => `${p.line}:${p.column} ${p.path}`)).toEqual([
      "1:1 servce",
      "4:14 run.instances",
      "6:25 environments.production.target",
      "9:27 release.steps[0].bake",
      "10:17 release.steps[1].weight",
      "10:17 release.steps[1].weight",
      "13:9 release.analysis.metrics[0]",
    ]);
    const messages = r.problems.map((p) => p.message).join("\n");
    expect(messages).toContain("strictly increasing");
    expect(messages).toContain("last traffic step must send all traffic");
    expect(messages).toContain("no judge");
  });

  it("reports an unreadable file and an empty file as problems", async () => {
    const missing = await loadReleaseConfig("no/such/shipshape.yaml");
    expect(missing.ok).toBe(false);
    if (!missing.ok)
      expect(missing.problems[0]).toMatchObject({ code: "file-unreadable", line: 1, column: 1 });
    const empty = await parseReleaseConfig("# nothing yet\n", "empty.yaml", process.cwd());
    expect(empty.ok).toBe(false);
    if (!empty.ok) expect(empty.problems[0]?.message).toBe("the file is empty");
  });
});
