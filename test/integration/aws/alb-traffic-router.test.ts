/**
 * The ALB TrafficRouter against moto (server mode, loopback): a load balancer,
 * a listener, two target groups and a weighted rule created through the real
 * ELBv2 API; weights shifted with ModifyRule and read back with DescribeRules.
 */
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateRuleCommand,
  CreateTargetGroupCommand,
  DescribeRulesCommand,
  ElasticLoadBalancingV2Client,
  ModifyRuleCommand,
  RegisterTargetsCommand,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAlbTrafficRouter } from "../../../infra/aws/alb-traffic-router";
import { type MotoServer, startMoto } from "../../support/moto";

let moto: MotoServer;
let elb: ElasticLoadBalancingV2Client;
let listenerArn: string;
let ruleArn: string;
let blueTg: string;
let greenTg: string;
let vpcId: string;

async function targetGroup(name: string): Promise<string> {
  const r = await elb.send(
    new CreateTargetGroupCommand({
      Name: name,
      Protocol: "HTTP",
      Port: 8080,
      VpcId: vpcId,
      TargetType: "ip",
      HealthCheckPath: "/health",
    }),
  );
  const arn = r.TargetGroups?.[0]?.TargetGroupArn;
  if (!arn) throw new Error("no target group ARN");
  return arn;
}

async function ruleForward(): Promise<Array<[string, number]>> {
  const r = await elb.send(new DescribeRulesCommand({ RuleArns: [ruleArn] }));
  const fwd = r.Rules?.[0]?.Actions?.find((a) => a.Type === "forward");
  return (fwd?.ForwardConfig?.TargetGroups ?? []).map((g) => [g.TargetGroupArn ?? "", g.Weight ?? -1]);
}

const scope = { service: "shop", environment: "production" };

beforeAll(async () => {
  moto = await startMoto();
  elb = new ElasticLoadBalancingV2Client(moto.clientConfig);
  vpcId = /<vpcId>([^<]+)/.exec(await moto.ec2("DescribeVpcs"))?.[1] ?? "";
  const subnets = [...(await moto.ec2("DescribeSubnets")).matchAll(/<subnetId>([^<]+)/g)].map(
    (m) => m[1] ?? "",
  );
  const lb = await elb.send(
    new CreateLoadBalancerCommand({ Name: "shop-prod", Subnets: subnets.slice(0, 2), Type: "application" }),
  );
  const lbArn = lb.LoadBalancers?.[0]?.LoadBalancerArn ?? "";
  blueTg = await targetGroup("shop-prod-v1");
  greenTg = await targetGroup("shop-prod-v2");
  const fixed = await targetGroup("shop-prod-default");
  const l = await elb.send(
    new CreateListenerCommand({
      LoadBalancerArn: lbArn,
      Protocol: "HTTP",
      Port: 80,
      DefaultActions: [{ Type: "forward", TargetGroupArn: fixed }],
    }),
  );
  listenerArn = l.Listeners?.[0]?.ListenerArn ?? "";
  const rule = await elb.send(
    new CreateRuleCommand({
      ListenerArn: listenerArn,
      Priority: 10,
      Conditions: [{ Field: "host-header", HostHeaderConfig: { Values: ["shop.example.com"] } }],
      Actions: [
        { Type: "forward", ForwardConfig: { TargetGroups: [{ TargetGroupArn: blueTg, Weight: 1 }] } },
      ],
    }),
  );
  ruleArn = rule.Rules?.[0]?.RuleArn ?? "";
  // Blue has a (healthy) task; green has none yet.
  await elb.send(
    new RegisterTargetsCommand({ TargetGroupArn: blueTg, Targets: [{ Id: "10.0.1.10", Port: 8080 }] }),
  );
}, 120_000);

afterAll(async () => {
  elb?.destroy();
  await moto?.stop();
});

describe("ALB traffic router on moto", () => {
  const router = () =>
    createAlbTrafficRouter({
      resolve: () => ({ listenerArn, ruleArn }),
      client: elb,
      healthTimeoutMs: 1_500,
      pollMs: 100,
    });

  it("registers blue, then green dark, and reads the weights back from the rule", async () => {
    const r = router();
    const a = await r.setBackends(scope, { blue: { version: "v1", instances: [blueTg] } });
    expect(a.tableVersion).toBe(1);
    expect(a.split).toEqual({ blue: 100, green: 0 });
    expect(await ruleForward()).toEqual([[blueTg, 999]]);

    const b = await r.setBackends(scope, {
      blue: { version: "v1", instances: [blueTg] },
      green: { version: "v2", instances: [greenTg] },
    });
    expect(b.tableVersion).toBe(2);
    expect(b.split).toEqual({ blue: 100, green: 0 });
    expect(await ruleForward()).toEqual([
      [blueTg, 999],
      [greenTg, 0],
    ]);
    const applied = await r.waitApplied(scope, 2, 5_000);
    expect(applied.backends.green).toEqual({ version: "v2", instances: [greenTg] });
    // The rule's condition is untouched.
    const rules = await elb.send(new DescribeRulesCommand({ RuleArns: [ruleArn] }));
    expect(rules.Rules?.[0]?.Conditions?.[0]?.HostHeaderConfig?.Values).toEqual(["shop.example.com"]);
  });

  it("refuses to shift to a target group without a healthy target, then shifts once one is healthy", async () => {
    const r = router();
    await expect(r.setWeights(scope, { blue: 90, green: 10 })).rejects.toThrow(/no healthy target/);
    expect(await ruleForward()).toEqual([
      [blueTg, 999],
      [greenTg, 0],
    ]);
    await elb.send(
      new RegisterTargetsCommand({ TargetGroupArn: greenTg, Targets: [{ Id: "10.0.2.20", Port: 8080 }] }),
    );
    expect(await r.healthyTargets(greenTg)).toBe(1);

    const s = await r.setWeights(scope, { blue: 99, green: 1 });
    expect(s.tableVersion).toBe(3);
    expect(await ruleForward()).toEqual([
      [blueTg, 990],
      [greenTg, 10],
    ]);
    const applied = await r.waitApplied(scope, s.tableVersion, 5_000);
    expect(applied.split).toEqual({ blue: 99, green: 1 });
  });

  it("is idempotent: the same split twice keeps the table version", async () => {
    const r = router();
    const a = await r.setWeights(scope, { blue: 90, green: 10 });
    const b = await r.setWeights(scope, { blue: 90, green: 10 });
    expect(b.tableVersion).toBe(a.tableVersion);
    expect(await ruleForward()).toEqual([
      [blueTg, 900],
      [greenTg, 100],
    ]);
  });

  it("waitApplied does not resolve while the rule differs from the table, and finishes a half-done shift on retry", async () => {
    const r = router();
    const a = await r.setWeights(scope, { blue: 50, green: 50 });
    // Someone (or a crash between tag write and ModifyRule) leaves the rule behind the table.
    await elb.send(
      new ModifyRuleCommand({
        RuleArn: ruleArn,
        Actions: [
          {
            Type: "forward",
            ForwardConfig: {
              TargetGroups: [
                { TargetGroupArn: blueTg, Weight: 900 },
                { TargetGroupArn: greenTg, Weight: 100 },
              ],
            },
          },
        ],
      }),
    );
    await expect(r.waitApplied(scope, a.tableVersion, 600)).rejects.toThrow(/not the table's/);
    expect((await r.getRoutes(scope)).split).toEqual({ blue: 90, green: 10 });
    const again = await r.setWeights(scope, { blue: 50, green: 50 });
    expect(again.tableVersion).toBe(a.tableVersion);
    const applied = await r.waitApplied(scope, a.tableVersion, 5_000);
    expect(applied.split).toEqual({ blue: 50, green: 50 });
    await expect(r.waitApplied(scope, a.tableVersion + 1, 300)).rejects.toThrow(/table version/);
  });

  it("promotes to 100% green, then rolls back to blue first", async () => {
    const r = router();
    const p = await r.setWeights(scope, { blue: 0, green: 100 });
    expect(await ruleForward()).toEqual([
      [blueTg, 0],
      [greenTg, 999],
    ]);
    expect((await r.waitApplied(scope, p.tableVersion, 5_000)).split).toEqual({ blue: 0, green: 100 });
    const back = await r.setWeights(scope, { blue: 100, green: 0 });
    expect(back.tableVersion).toBe(p.tableVersion + 1);
    expect((await r.waitApplied(scope, back.tableVersion, 5_000)).split).toEqual({ blue: 100, green: 0 });
    // Green removed: the rule forwards to blue only.
    const only = await r.setBackends(scope, { blue: { version: "v1", instances: [blueTg] } });
    expect(only.backends.green).toBeUndefined();
    expect(await ruleForward()).toEqual([[blueTg, 999]]);
  });

  it("rejects weight for a side without a backend and a backend that is not a target group", async () => {
    const r = router();
    await expect(r.setWeights(scope, { blue: 90, green: 10 })).rejects.toThrow(/no green backend/);
    await expect(
      r.setBackends(scope, { blue: { version: "v1", instances: ["http://127.0.0.1:1"] } }),
    ).rejects.toThrow(/target group ARN/);
  });

  it("shifts a listener's default action when no rule is given (ModifyListener)", async () => {
    const r = createAlbTrafficRouter({
      resolve: () => ({ listenerArn }),
      client: elb,
      healthTimeoutMs: 1_000,
      pollMs: 100,
    });
    await r.setBackends(scope, {
      blue: { version: "v1", instances: [blueTg] },
      green: { version: "v2", instances: [greenTg] },
    });
    const s = await r.setWeights(scope, { blue: 75, green: 25 });
    const applied = await r.waitApplied(scope, s.tableVersion, 5_000);
    expect(applied.split).toEqual({ blue: 75, green: 25 });
    expect(applied.backends.blue?.version).toBe("v1");
  });
});
