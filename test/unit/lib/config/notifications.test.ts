// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these tests are about the literal ${env:NAME} syntax
import { describe, expect, it } from "vitest";
import { parseReleaseConfig } from "../../../../lib/config";
import { NOTIFICATION_EVENTS } from "../../../../lib/notifications/events";

const config = (notifications: string) => `service: shop
run:
  command: node server.js
environments:
  production:
    target: local
    notifications:
${notifications}
release:
  steps:
    - weight: 100
`;

async function parse(notifications: string) {
  return parseReleaseConfig(config(notifications), "shipshape.yaml", process.cwd());
}

describe("environments.<env>.notifications", () => {
  it("parses webhook, slack and command sinks; events default to all, timeout to 10s", async () => {
    const r = await parse(`      - type: webhook
        url: https://hooks.example.com/shipshape
        secret: \${env:HOOK_SECRET}
        events: [rolled-back, finished, rolled-back]
      - type: slack
        url: \${env:SLACK_WEBHOOK_URL}
        timeout: 5s
      - type: command
        command: ./notify.sh`);
    if (!r.ok) throw new Error(r.problems.map((p) => p.message).join("\n"));
    expect(r.config.environments.production?.notifications).toEqual([
      {
        type: "webhook",
        url: "https://hooks.example.com/shipshape",
        secret: "${env:HOOK_SECRET}",
        events: ["rolled-back", "finished"],
        timeout: 10_000,
      },
      { type: "slack", url: "${env:SLACK_WEBHOOK_URL}", events: [...NOTIFICATION_EVENTS], timeout: 5_000 },
      { type: "command", command: "./notify.sh", events: [...NOTIFICATION_EVENTS], timeout: 10_000 },
    ]);
  });

  it("refuses a literal secret, saying where and how to fix it, without echoing the secret", async () => {
    const r = await parse(`      - type: webhook
        url: https://hooks.example.com/shipshape
        secret: hunter2-very-secret`);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const p = r.problems.find((x) => x.path === "environments.production.notifications[0].secret");
    expect(p, JSON.stringify(r.problems)).toBeDefined();
    expect(p?.line).toBe(10);
    expect(p?.message).toMatch(/must be an environment reference/);
    expect(p?.fix).toMatch(/secret: \$\{env:DEPLOY_HOOK_SECRET\}/);
    expect(JSON.stringify(r.problems)).not.toContain("hunter2");
  });

  it("refuses a URL that is not http(s), an unknown event, a command sink with a url, a timeout over 1m", async () => {
    const r = await parse(`      - type: webhook
        url: ftp://hooks.example.com
      - type: slack
        url: https://hooks.slack.com/services/T/B/X
        events: [promotd]
      - type: command
        command: ./notify.sh
        url: https://x.example
      - type: webhook
        url: http://127.0.0.1:9000/hook
        timeout: 5m`);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const at = (path: string) => r.problems.filter((p) => p.path.startsWith(path)).map((p) => p.message);
    expect(at("environments.production.notifications[0].url").join()).toMatch(/not an http\(s\) URL/);
    expect(at("environments.production.notifications[1].events").length).toBeGreaterThan(0);
    expect(at("environments.production.notifications[2]").length).toBeGreaterThan(0);
    expect(at("environments.production.notifications[3].timeout").join()).toMatch(/over the 1m limit/);
  });
});
