import { describe, expect, it } from "vitest";
import { configDifferences, runtimeDifferences } from "../../../../lib/drift/parity";
import { releaseConfig } from "../../../support/deployment-harness";

const mask = (v: string) => `masked(${v.length})`;

describe("parity: effective config differences", () => {
  it("lists differing keys, shows env references as written and never a literal secret value", () => {
    const a = releaseConfig({}, {}) as unknown as Record<string, unknown>;
    const b = structuredClone(a) as Record<string, unknown> & {
      run: { env: Record<string, string>; instances: number };
    };
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal ${env:NAME} syntax
    (a as typeof b).run.env = { API_KEY: "${env:STAGING_KEY}", MODE: "x" };
    b.run.env = { API_KEY: "hunter2-literal", MODE: "x" };
    b.run.instances = 3;
    const rows = configDifferences(a, "production", b, "production", mask);
    expect(rows).toEqual([
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal ${env:NAME} syntax
      { what: "config run.env.API_KEY", a: "${env:STAGING_KEY}", b: "masked(15)" },
      { what: "config run.instances", a: "1", b: "3" },
    ]);
    expect(JSON.stringify(rows)).not.toContain("hunter2");
  });

  it("compares each environment's own section side by side", () => {
    const c = releaseConfig() as unknown as { environments: Record<string, Record<string, unknown>> };
    c.environments.staging = { target: "local", compensationAttentionAfter: 600000 };
    c.environments.production!.onDrift = "fail";
    const rows = configDifferences(c, "staging", c, "production", mask).map((r) => r.what);
    expect(rows).toContain("config environment.onDrift");
    expect(rows).toContain("config environment.approvals.approvers[0]");
    expect(rows).toContain("config environment.compensationAttentionAfter");
    expect(configDifferences(c, "production", c, "production", mask)).toEqual([]);
  });

  it("keeps only the runtime facts that differ", () => {
    expect(
      runtimeDifferences([
        { what: "running version", a: "v2", b: "v2" },
        { what: "running instances", a: "1", b: "2" },
      ]),
    ).toEqual([{ what: "running instances", a: "1", b: "2" }]);
  });
});
