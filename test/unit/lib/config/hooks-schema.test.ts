// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these tests are about the literal ${env:NAME} syntax
import { describe, expect, it } from "vitest";
import { parseReleaseConfig } from "../../../../lib/config";

const BASE = `service: shop
run: { command: node server.js }
release:
  verify: [{ http: { path: /health } }]
  steps: [{ weight: 100 }]
environments:
  production:
    target: local
    hooks:
`;

async function parse(hooksYaml: string) {
  return parseReleaseConfig(BASE + hooksYaml, "shipshape.yaml", "/tmp");
}

async function problems(hooksYaml: string): Promise<string[]> {
  const r = await parse(hooksYaml);
  if (r.ok) throw new Error("expected problems");
  return r.problems.map((p) => `${p.line}:${p.column} ${p.path} ${p.message}${p.fix ? ` — ${p.fix}` : ""}`);
}

describe("environments.<env>.hooks", () => {
  it("normalizes durations and fills defaults per type", async () => {
    const r =
      await parse(`      ticket: { type: confirm-rollout, url: "https://hooks.example.com/ok", secret: "\${env:HOOK_SECRET}" }
      smoke: { type: pre-rollout, command: ./smoke.sh, timeout: 2m }
      go-live: { type: confirm-promotion, url: "https://x.example/c", timeout: 30m, interval: 1m, onTimeout: pause }
      load: { type: rollout, url: "https://load.example/", metadata: { rps: "50" } }
`);
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    expect(r.config.environments.production?.hooks).toEqual({
      ticket: {
        type: "confirm-rollout",
        url: "https://hooks.example.com/ok",
        secret: "${env:HOOK_SECRET}",
        timeout: 3_600_000,
        interval: 10_000,
        onTimeout: "abort",
        metadata: {},
      },
      smoke: { type: "pre-rollout", command: "./smoke.sh", timeout: 120_000, metadata: {} },
      "go-live": {
        type: "confirm-promotion",
        url: "https://x.example/c",
        timeout: 1_800_000,
        interval: 60_000,
        onTimeout: "pause",
        metadata: {},
      },
      load: { type: "rollout", url: "https://load.example/", timeout: 30_000, metadata: { rps: "50" } },
    });
  });

  it("needs exactly one of url and command", async () => {
    expect(await problems("      a: { type: pre-rollout }\n")).toEqual([
      expect.stringMatching(/^10:\d+ environments\.production\.hooks\.a a hook needs a url or a command/),
    ]);
    expect(await problems('      a: { type: pre-rollout, url: "http://x/", command: "true" }\n')).toEqual([
      expect.stringMatching(/a hook has a url or a command, not both/),
    ]);
  });

  it("refuses a literal secret without echoing it", async () => {
    const found = await problems(
      '      a: { type: pre-rollout, url: "http://x/", secret: hunter2-very-secret }\n',
    );
    expect(found).toEqual([
      expect.stringMatching(
        /^10:\d+ environments\.production\.hooks\.a\.secret secret must be an \$\{env:NAME\} reference.*HOOK_SECRET/,
      ),
    ]);
    expect(found.join("\n")).not.toContain("hunter2");
  });

  it("keeps interval and onTimeout to gates, and names the type", async () => {
    expect(await problems('      a: { type: rollout, url: "http://x/", onTimeout: pause }\n')).toEqual([
      expect.stringMatching(
        /onTimeout applies to gates \(confirm-rollout, confirm-promotion\) only; a rollout hook/,
      ),
    ]);
    expect(
      await problems('      a: { type: confirm-rollout, url: "http://x/", interval: 5m, timeout: 1m }\n'),
    ).toEqual([expect.stringMatching(/interval is longer than its timeout/)]);
    expect(await problems('      a: { type: confirm-rollout, url: "http://x/", timeout: 24h }\n')).toEqual([
      expect.stringMatching(
        /hooks\.a\.timeout the gate would be asked up to 8640 times .* at most 1000 .* set interval to at least 87s/,
      ),
    ]);
  });

  it("suggests the hook types on a typo, and refuses bad names", async () => {
    expect((await problems('      a: { type: pre-rolout, url: "http://x/" }\n')).join("\n")).toMatch(
      /pre-rollout/,
    );
    expect(
      (await problems('      Smoke_Test: { type: pre-rollout, url: "http://x/" }\n')).join("\n"),
    ).toMatch(/`Smoke_Test` is not a valid name.*rename it, e.g. smoke-test/);
  });
});
