import { readFileSync } from "node:fs";
import Ajv2020 from "ajv/dist/2020";
import { describe, expect, it } from "vitest";
import { shipshapeCommands } from "../../../../lib/notifications/commands";
import { NotificationSchema, notificationJsonSchema } from "../../../../lib/notifications/payload";
import { slackMessage, verdictTable } from "../../../../lib/notifications/slack";
import { samplePayload } from "./fixtures";

describe("notification payload v1", () => {
  const committed = JSON.parse(readFileSync("schema/notification.schema.json", "utf8"));

  it("the committed JSON Schema is the one generated from the zod schema", () => {
    expect(committed).toEqual(notificationJsonSchema());
  });

  it("a payload the workflow builds validates against the shipped JSON Schema; a broken one does not", () => {
    const validate = new Ajv2020({ strict: false, allErrors: true }).compile(committed);
    const good = samplePayload();
    expect(NotificationSchema.parse(good)).toEqual(good);
    expect(validate(good)).toBe(true);
    expect(validate({ ...good, schemaVersion: 2 })).toBe(false);
    expect(validate({ ...good, event: "exploded" })).toBe(false);
    const { deployment: _d, ...noDeployment } = good;
    expect(validate(noDeployment)).toBe(false);
  });
});

describe("shipshape commands in notifications", () => {
  const base = {
    service: "shop",
    environment: "production",
    gate: null,
    paused: false,
    abortable: true,
    signed: false,
  };

  it("offers approve / reject for the waiting gate and abort while the deployment can be aborted", () => {
    expect(shipshapeCommands({ ...base, gate: "before-full-traffic" })).toEqual({
      status: "shipshape status shop/production",
      approve: 'shipshape approve shop/production --gate before-full-traffic --reason "why"',
      reject: 'shipshape reject shop/production --gate before-full-traffic --reason "why"',
      abort: 'shipshape abort shop/production --reason "why"',
    });
  });

  it("signs decisions in an environment with signers, offers resume when paused, no abort once ended", () => {
    const c = shipshapeCommands({ ...base, paused: true, abortable: false, signed: true });
    expect(c).toEqual({
      status: "shipshape status shop/production",
      resume: "shipshape resume shop/production --key ~/.ssh/id_ed25519",
    });
  });
});

describe("Slack message", () => {
  it("is readable: summary, where the deployment stands, the tripping metric, the verdict table, the commands", () => {
    const m = slackMessage(samplePayload());
    expect(m.text).toContain("shop/production v2 rolled back");
    const all = JSON.stringify(m.blocks);
    expect(all).toContain("*Tripping metric:* error-rate 20% &gt; max 1% at 50% traffic");
    expect(all).toContain('shipshape abort shop/production --reason \\"why\\"');
    expect(all).toContain("shop/production v2 (from v1)");
    expect(verdictTable(samplePayload().details.verdicts ?? []).split("\n")).toEqual([
      "metric        verdict  green   blue  threshold",
      "────────────  ───────  ─────  ─────  ────────────────────",
      "error-rate *  fail       0.2  0.001  max 1%",
      "latency-p99   pass     182.5    170  max +20% vs baseline",
    ]);
  });

  it("puts approve and reject first when a gate waits", () => {
    const m = slackMessage(
      samplePayload({
        event: "approval-requested",
        details: { gate: "go", approvers: ["bob"] },
        commands: shipshapeCommands({
          service: "shop",
          environment: "production",
          gate: "go",
          paused: false,
          abortable: true,
          signed: false,
        }),
      }),
    );
    const last = m.blocks.at(-1) as { text: { text: string } };
    expect(last.text.text.split("\n")[0]).toBe(
      'Approve: `shipshape approve shop/production --gate go --reason "why"`',
    );
    expect(JSON.stringify(m.blocks)).toContain("*Gate:* go (approvers: bob)");
  });
});
