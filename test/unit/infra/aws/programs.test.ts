/**
 * The AWS target's Pulumi programs under Pulumi's mock runtime
 * (pulumi.runtime.setMocks: no CLI, no provider plugin, no cloud). The mocks
 * record every resource registration and answer the three lookups the program
 * makes (listener, load balancer, ECS cluster).
 */
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { AwsTarget, VersionEnvironmentArgs } from "../../../../infra/aws/program/version-environment";
import { AwsTargetSchema } from "../../../../lib/config/schema";

const ACCOUNT = "123456789012";
const LISTENER = `arn:aws:elasticloadbalancing:eu-west-1:${ACCOUNT}:listener/app/edge/50dc6c495c0c9188/f2f7dc8efc522ab2`;
const LB = `arn:aws:elasticloadbalancing:eu-west-1:${ACCOUNT}:loadbalancer/app/edge/50dc6c495c0c9188`;
const CLUSTER = `arn:aws:ecs:eu-west-1:${ACCOUNT}:cluster/main`;
const DB_SECRET = `arn:aws:secretsmanager:eu-west-1:${ACCOUNT}:secret:shop/db-AbCdEf`;
const API_KEY = `arn:aws:ssm:eu-west-1:${ACCOUNT}:parameter/shop/api-key`;

let registered: pulumi.runtime.MockResourceArgs[] = [];
const calls: string[] = [];

function fakeArn(args: pulumi.runtime.MockResourceArgs): string {
  const n = String(args.inputs.name ?? args.name);
  switch (args.type) {
    case "aws:lb/targetGroup:TargetGroup":
      return `arn:aws:elasticloadbalancing:eu-west-1:${ACCOUNT}:targetgroup/${n}/${"0123456789abcdef"}`;
    case "aws:lb/listenerRule:ListenerRule":
      return `${LISTENER.replace(":listener/", ":listener-rule/")}/${args.name.length}aa`;
    case "aws:iam/role:Role":
      return `arn:aws:iam::${ACCOUNT}:role/${n}`;
    case "aws:ssm/parameter:Parameter":
      return `arn:aws:ssm:eu-west-1:${ACCOUNT}:parameter${n}`;
    case "aws:ecs/taskDefinition:TaskDefinition":
      return `arn:aws:ecs:eu-west-1:${ACCOUNT}:task-definition/${String(args.inputs.family)}:1`;
    default:
      return `arn:aws:mock:eu-west-1:${ACCOUNT}:${args.type}/${n}`;
  }
}

beforeAll(() => {
  pulumi.runtime.setMocks(
    {
      newResource(args) {
        registered.push(args);
        return { id: `${args.name}-id`, state: { ...args.inputs, arn: fakeArn(args) } };
      },
      call(args) {
        calls.push(args.token);
        switch (args.token) {
          case "aws:lb/getListener:getListener":
            return { arn: args.inputs.arn, loadBalancerArn: LB, port: 443, protocol: "HTTPS" };
          case "aws:lb/getLoadBalancer:getLoadBalancer":
            return {
              arn: args.inputs.arn,
              vpcId: "vpc-0abc",
              subnets: ["subnet-a", "subnet-b"],
              securityGroups: ["sg-alb"],
            };
          case "aws:ecs/getCluster:getCluster":
            return { arn: CLUSTER, clusterName: args.inputs.clusterName };
          default:
            throw new Error(`unexpected invoke ${args.token}`);
        }
      },
    },
    "shipshape-aws",
    "unit",
    false,
  );
});

beforeEach(() => {
  registered = [];
});

function value<T>(o: pulumi.Input<T> | pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => pulumi.output(o).apply((v) => resolve(v as T)));
}

const awsTarget = (extra: Record<string, unknown> = {}): AwsTarget =>
  AwsTargetSchema.parse({
    region: "eu-west-1",
    cluster: "main",
    listenerArn: LISTENER,
    image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop:$version",
    cpu: 512,
    memory: 1024,
    secrets: { DB_PASSWORD: `${DB_SECRET}:password::`, API_KEY },
    rule: { priority: 200, hosts: ["shop.example.com"] },
    tags: { team: "payments" },
    ...extra,
  });

const versionArgs = (extra: Partial<VersionEnvironmentArgs> = {}): VersionEnvironmentArgs => ({
  service: "shop",
  environment: "production",
  version: "v2",
  deploymentId: "shop-production-v2-1",
  aws: awsTarget(),
  healthPath: "/health",
  instances: 3,
  env: { LOG_LEVEL: "info", DATABASE_URL: pulumi.secret("postgres://shop:hunter2@db:5432/shop") },
  // DATABASE_URL came from ${env:DATABASE_URL} on the worker.
  secretEnvNames: ["DATABASE_URL"],
  ...extra,
});

const byType = (t: string) => registered.filter((r) => r.type === t);
const one = (t: string) => {
  const all = byType(t);
  expect(all, t).toHaveLength(1);
  return all[0] as pulumi.runtime.MockResourceArgs;
};

async function newVersionEnv(args = versionArgs()) {
  const { VersionEnvironment } = await import("../../../../infra/aws/program/version-environment");
  const env = new VersionEnvironment("shop-production-v2", args);
  const outputs = {
    targetGroupArn: await value(env.outputs.targetGroupArn),
    serviceName: await value(env.outputs.serviceName),
    testRuleArn: await value(env.outputs.testRuleArn),
    taskDefinitionArn: await value(env.outputs.taskDefinitionArn),
  };
  return { env, outputs };
}

describe("version environment program", () => {
  it("registers the resource graph: target group, version rule, security group, logs, roles, task, service", async () => {
    await newVersionEnv();
    const types = registered.map((r) => r.type).sort();
    expect(types).toEqual(
      [
        "aws:cloudwatch/logGroup:LogGroup",
        "aws:ec2/securityGroup:SecurityGroup",
        "aws:ecs/service:Service",
        "aws:ecs/taskDefinition:TaskDefinition",
        "aws:iam/role:Role",
        "aws:iam/rolePolicy:RolePolicy",
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        "aws:lb/listenerRule:ListenerRule",
        "aws:lb/targetGroup:TargetGroup",
        "aws:ssm/parameter:Parameter",
        "shipshape:aws:VersionEnvironment",
      ].sort(),
    );
    expect(calls).toEqual(
      expect.arrayContaining([
        "aws:lb/getListener:getListener",
        "aws:lb/getLoadBalancer:getLoadBalancer",
        "aws:ecs/getCluster:getCluster",
      ]),
    );
  });

  it("wires the service to its target group, security group, task definition, cluster and the ALB's subnets", async () => {
    const { outputs } = await newVersionEnv();
    const tg = one("aws:lb/targetGroup:TargetGroup").inputs;
    expect(tg).toMatchObject({
      name: "shop-production-v2",
      port: 8080,
      protocol: "HTTP",
      targetType: "ip",
      vpcId: "vpc-0abc",
      deregistrationDelay: 30,
      healthCheck: { path: "/health", matcher: "200-399", enabled: true },
    });
    const svc = one("aws:ecs/service:Service").inputs;
    expect(svc).toMatchObject({
      name: "shop-production-v2",
      cluster: CLUSTER,
      taskDefinition: outputs.taskDefinitionArn,
      desiredCount: 3,
      launchType: "FARGATE",
      waitForSteadyState: true,
      deploymentCircuitBreaker: { enable: true, rollback: true },
      networkConfiguration: {
        subnets: ["subnet-a", "subnet-b"],
        securityGroups: ["tasks-id"],
        assignPublicIp: false,
      },
      loadBalancers: [{ targetGroupArn: outputs.targetGroupArn, containerName: "shop", containerPort: 8080 }],
    });
    const sg = one("aws:ec2/securityGroup:SecurityGroup").inputs;
    expect(sg.ingress).toEqual([
      expect.objectContaining({ protocol: "tcp", fromPort: 8080, toPort: 8080, securityGroups: ["sg-alb"] }),
    ]);
    const task = one("aws:ecs/taskDefinition:TaskDefinition").inputs;
    expect(task).toMatchObject({
      cpu: "512",
      memory: "1024",
      networkMode: "awsvpc",
      requiresCompatibilities: ["FARGATE"],
      executionRoleArn: "arn:aws:iam::123456789012:role/shop-production-v2-exec",
    });
  });

  it("has a version rule on the listener (header X-Shipshape-Version + the service's hosts) forwarding to its target group", async () => {
    const { outputs } = await newVersionEnv();
    const rule = one("aws:lb/listenerRule:ListenerRule").inputs;
    expect(rule.listenerArn).toBe(LISTENER);
    expect(rule.priority).toBeGreaterThanOrEqual(100);
    expect(rule.priority).toBeLessThan(200);
    expect(rule.conditions).toEqual([
      { httpHeader: { httpHeaderName: "X-Shipshape-Version", values: ["v2"] } },
      { hostHeader: { values: ["shop.example.com"] } },
    ]);
    expect(rule.actions).toEqual([{ type: "forward", targetGroupArn: outputs.targetGroupArn }]);
  });

  it("tags every taggable resource with service, environment, version, deployment and the user's tags", async () => {
    await newVersionEnv();
    const taggable = registered.filter((r) => r.type.startsWith("aws:") && "tags" in r.inputs);
    expect(taggable.length).toBe(8);
    for (const r of taggable) {
      expect(r.inputs.tags, r.type).toEqual({
        team: "payments",
        "shipshape:service": "shop",
        "shipshape:environment": "production",
        "shipshape:version": "v2",
        "shipshape:deployment": "shop-production-v2-1",
        "shipshape:managed-by": "shipshape",
      });
    }
  });

  it("keeps secrets secret: references only in the task (resolved env-reference values in SSM SecureStrings), least-privilege read", async () => {
    const { env } = await newVersionEnv();
    const defs = JSON.parse(await value(env.taskDefinition.containerDefinitions)) as Array<
      Record<string, unknown>
    >;
    const c = defs[0] as {
      image: string;
      environment: Array<{ name: string; value: string }>;
      secrets: Array<{ name: string; valueFrom: string }>;
    };
    expect(c.image).toBe("123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop:v2");
    const DB_URL_PARAMETER = `arn:aws:ssm:eu-west-1:${ACCOUNT}:parameter/shipshape/shop/production/v2/DATABASE_URL`;
    expect(c.secrets).toEqual([
      { name: "API_KEY", valueFrom: API_KEY },
      { name: "DATABASE_URL", valueFrom: DB_URL_PARAMETER },
      { name: "DB_PASSWORD", valueFrom: `${DB_SECRET}:password::` },
    ]);
    expect(c.environment.map((e) => e.name)).toEqual(["LOG_LEVEL", "SHIPSHAPE_VERSION"]);
    // No secret value anywhere in the task definition (ecs:DescribeTaskDefinition shows it in clear).
    expect(JSON.stringify(one("aws:ecs/taskDefinition:TaskDefinition").inputs)).not.toContain("hunter2");
    // The value lives in a SecureString parameter, a secret in the Pulumi state.
    const parameter = one("aws:ssm/parameter:Parameter").inputs;
    expect(parameter).toMatchObject({
      name: "/shipshape/shop/production/v2/DATABASE_URL",
      type: "SecureString",
      // Pulumi's secret signature: encrypted in the state.
      value: {
        [pulumi.runtime.specialSigKey]: pulumi.runtime.specialSecretSig,
        value: "postgres://shop:hunter2@db:5432/shop",
      },
    });
    // The exported outputs carry no secret material.
    const outs = await value(pulumi.all(env.outputs));
    expect(JSON.stringify(outs)).not.toMatch(/hunter2|password/);
    // The execution role may read exactly the referenced secrets.
    const policy = JSON.parse(String(one("aws:iam/rolePolicy:RolePolicy").inputs.policy));
    expect(policy.Statement).toEqual([
      { Effect: "Allow", Action: ["secretsmanager:GetSecretValue"], Resource: [DB_SECRET] },
      { Effect: "Allow", Action: ["ssm:GetParameters"], Resource: [API_KEY, DB_URL_PARAMETER] },
    ]);
  });

  it("a plain environment stays a plain output; given roles and subnets are used as they are", async () => {
    const { env } = await newVersionEnv(
      versionArgs({
        env: { LOG_LEVEL: "info" },
        aws: awsTarget({
          secrets: {},
          executionRoleArn: "arn:aws:iam::123456789012:role/exec",
          taskRoleArn: "arn:aws:iam::123456789012:role/app",
          subnets: ["subnet-private-1"],
          securityGroups: ["sg-db"],
          desiredCount: 2,
        }),
      }),
    );
    expect(await pulumi.isSecret(env.taskDefinition.containerDefinitions)).toBe(false);
    expect(byType("aws:iam/role:Role")).toHaveLength(0);
    expect(one("aws:ecs/taskDefinition:TaskDefinition").inputs).toMatchObject({
      executionRoleArn: "arn:aws:iam::123456789012:role/exec",
      taskRoleArn: "arn:aws:iam::123456789012:role/app",
    });
    expect(one("aws:ecs/service:Service").inputs).toMatchObject({
      desiredCount: 2,
      networkConfiguration: { subnets: ["subnet-private-1"], securityGroups: ["tasks-id", "sg-db"] },
    });
  });

  it("the program exports the outputs contract that bring-your-own stacks must match", async () => {
    const { versionEnvironmentProgram } = await import("../../../../infra/aws/program/version-environment");
    const { checkVersionOutputs } = await import("../../../../infra/aws/outputs");
    const outputs = await versionEnvironmentProgram(versionArgs())();
    const plain = await value(pulumi.all(outputs));
    expect(registered.some((r) => r.type === "pulumi:providers:aws" && r.inputs.region === "eu-west-1")).toBe(
      true,
    );
    expect(checkVersionOutputs("shop-production-v2", plain)).toMatchObject({
      targetGroupArn: expect.stringMatching(/:targetgroup\/shop-production-v2\//),
      serviceName: "shop-production-v2",
    });
    expect(() => checkVersionOutputs("mine", { serviceName: "x" })).toThrow(/stack mine .*targetGroupArn/);
  });

  it("long names fit AWS limits without colliding", async () => {
    await newVersionEnv(
      versionArgs({
        service: "checkout-frontend",
        environment: "production-eu",
        version: "2024.11.26-abc123",
      }),
    );
    const a = String(one("aws:lb/targetGroup:TargetGroup").inputs.name);
    registered = [];
    await newVersionEnv(
      versionArgs({
        service: "checkout-frontend",
        environment: "production-eu",
        version: "2024.11.26-abc124",
      }),
    );
    const b = String(one("aws:lb/targetGroup:TargetGroup").inputs.name);
    expect(a.length).toBeLessThanOrEqual(32);
    expect(b.length).toBeLessThanOrEqual(32);
    expect(a).not.toBe(b);
    expect(a).toMatch(/^[a-z0-9-]+$/);
  });
});

describe("platform program (weighted listener rule)", () => {
  const BLUE_TG = `arn:aws:elasticloadbalancing:eu-west-1:${ACCOUNT}:targetgroup/shop-production-v1/1111111111111111`;
  const GREEN_TG = `arn:aws:elasticloadbalancing:eu-west-1:${ACCOUNT}:targetgroup/shop-production-v2/2222222222222222`;

  it("lists blue and green target groups with ALB weights from the percentage", async () => {
    const { ServicePlatform } = await import("../../../../infra/aws/program/platform");
    const p = new ServicePlatform("shop-production", {
      service: "shop",
      environment: "production",
      aws: awsTarget({ rule: { priority: 200, hosts: ["shop.example.com"], paths: ["/api/*"] } }),
      blue: { version: "v1", targetGroupArn: BLUE_TG },
      green: { version: "v2", targetGroupArn: GREEN_TG },
      greenPercent: 10,
    });
    const ruleArn = await value(p.outputs.ruleArn);
    expect(ruleArn).toMatch(/:listener-rule\//);
    const rule = one("aws:lb/listenerRule:ListenerRule").inputs;
    expect(rule.listenerArn).toBe(LISTENER);
    expect(rule.priority).toBe(200);
    expect(rule.conditions).toEqual([
      { hostHeader: { values: ["shop.example.com"] } },
      { pathPattern: { values: ["/api/*"] } },
    ]);
    expect(rule.actions).toEqual([
      {
        type: "forward",
        forward: {
          targetGroups: [
            { arn: BLUE_TG, weight: 900 },
            { arn: GREEN_TG, weight: 100 },
          ],
          stickiness: { enabled: false, duration: 1 },
        },
      },
    ]);
    // The router's table starts as what Pulumi created.
    expect(rule.tags).toMatchObject({
      team: "payments",
      "shipshape:service": "shop",
      "shipshape:table-version": "1",
      "shipshape:weights": "900:100",
      "shipshape:blue": `v1 ${BLUE_TG}`,
      "shipshape:green": `v2 ${GREEN_TG}`,
    });
  });

  it("blue only gets all the traffic; the router reads Pulumi's table", async () => {
    const { ServicePlatform, ROUTER_OWNED } = await import("../../../../infra/aws/program/platform");
    const p = new ServicePlatform("shop-production", {
      service: "shop",
      environment: "production",
      aws: awsTarget(),
      blue: { version: "v1", targetGroupArn: BLUE_TG },
    });
    await value(p.outputs.ruleArn);
    const rule = one("aws:lb/listenerRule:ListenerRule").inputs;
    expect(rule.actions[0].forward.targetGroups).toEqual([{ arn: BLUE_TG, weight: 999 }]);
    expect(rule.tags["shipshape:green"]).toBe("");
    expect(ROUTER_OWNED).toContain("actions");
  });

  it("needs aws.rule", async () => {
    const { ServicePlatform } = await import("../../../../infra/aws/program/platform");
    const a = awsTarget();
    delete (a as { rule?: unknown }).rule;
    expect(
      () =>
        new ServicePlatform("x", {
          service: "shop",
          environment: "production",
          aws: a,
          blue: { version: "v1", targetGroupArn: BLUE_TG },
        }),
    ).toThrow(/aws.rule/);
  });
});
