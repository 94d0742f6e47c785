/**
 * DeploymentWorkflow end to end on the AWS drivers, against moto (server mode,
 * loopback) and a real Temporal dev server (in-process worker).
 *
 * Real: the workflow and every activity (createActivities), the ALB
 * TrafficRouter (ModifyRule / DescribeRules / DescribeTargetHealth on the
 * moto listener rule), the CloudWatch provider (GetMetricData from moto), and
 * Shipshape's version-environment Pulumi program (program/version-environment.ts).
 *
 * Replaced: the Pulumi ENGINE. The real AWS provider plugin cannot be
 * downloaded here, so the InfraDriver of this test runs the program under
 * `pulumi.runtime.setMocks` instead of `stack.up()` (createAwsInfraDriver's
 * Automation API path is covered by byo-stack-driver.test.ts). The mocks are
 * backed by moto where moto can: the program's target group is CREATED in moto
 * (CreateTargetGroup with the program's inputs) and one IP target registered
 * in it, standing in for the Fargate task the ECS service would register; its
 * version rule (header X-Shipshape-Version) is created in moto on the real
 * listener; the listener / load balancer lookups answer from moto. The
 * security group, log group, IAM role, task definition and ECS service (and
 * the ECS cluster lookup) get mock IDs only. `destroyEnvironment` deletes the
 * version rule and the target group from moto — moto refuses to delete a
 * target group still in a forward action, so the saga / finalize order
 * (traffic first) is checked by the emulator, not just by the test.
 *
 * ALB telemetry is not emulated: the test publishes the target groups'
 * RequestCount / HTTPCode_Target_5XX_Count with PutMetricData (blue at setup,
 * green as soon as its target group exists), timestamped inside the window the
 * provider reads (it ends 60 s before now).
 * Fakes (createFakes): migrations, verifier, notifier, artifact store.
 */
import { randomBytes } from "node:crypto";
import { CloudWatchClient, PutMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateRuleCommand,
  CreateTargetGroupCommand,
  DeleteRuleCommand,
  DeleteTargetGroupCommand,
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeRulesCommand,
  DescribeTagsCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  RegisterTargetsCommand,
  type RuleCondition,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import * as pulumi from "@pulumi/pulumi";
import { Client, Connection } from "@temporalio/client";
import { NativeConnection, Worker } from "@temporalio/worker";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createActivities } from "../../../activities";
import {
  ALB_NAMESPACE,
  createCloudWatchProvider,
  loadBalancerDimension,
  targetGroupDimension,
  targetsFromRouter,
} from "../../../activities/metrics/cloudwatch-provider";
import { createMetricProviders } from "../../../activities/metrics/registry";
import { startDeployment } from "../../../client/start";
import { createAlbTrafficRouter, TAG_SIDE } from "../../../infra/aws/alb-traffic-router";
import { versionStackName } from "../../../infra/aws/names";
import { checkVersionOutputs } from "../../../infra/aws/outputs";
import { type AwsTarget, versionEnvironmentProgram } from "../../../infra/aws/program/version-environment";
import { type ReleaseConfig, ReleaseConfigSchema } from "../../../lib/config/schema";
import type { DeploymentResult } from "../../../lib/deployment/types";
import type { InfraDriver, ProvisionedEnvironment } from "../../../lib/drivers/infra-driver";
import { WORKFLOWS_PATH } from "../../../workers/workflow-bundle";
import { statusQuery } from "../../../workflows/deployment/messages";
import type { DeploymentStatus } from "../../../workflows/deployment/state";
import { createFakes, singleTarget } from "../../support/fakes";
import { type MotoServer, startMoto } from "../../support/moto";

const ACCOUNT = "123456789012";
const suffix = randomBytes(2).toString("hex");
const ENV = "production";

let moto: MotoServer;
let elb: ElasticLoadBalancingV2Client;
let cw: CloudWatchClient;
let vpcId: string;
let listenerArn: string;
let connection: Connection;
let client: Client;
let native: NativeConnection;
let worker: Worker;
let workerRun: Promise<void>;
const taskQueue = `aws-e2e-${process.pid}-${suffix}`;

/** service → its weighted (platform) rule on the listener. */
const platformRules = new Map<string, string>();
/** service → AWS target of its release config (what the InfraDriver resolves, like createAwsInfraDriver's `target`). */
const awsTargets = new Map<string, AwsTarget>();
/** service → 5xx per 1000 requests its green target group reports. */
const greenErrorsPerMille = new Map<string, number>();

// ---------------------------------------------------------------------------- moto helpers

/**
 * Every mutating ELBv2 call that reached moto for a service, in order:
 * "modify v1=900 v2=100" (ModifyRule of its weighted rule), "delete-rule v2",
 * "delete-tg v1". Recorded by a middleware on the client all drivers share.
 */
const elbLog = new Map<string, string[]>();

const tgLabel = (arn: string): { service: string; version: string } => {
  const name = /:targetgroup\/([^/]+)\//.exec(arn)?.[1] ?? arn;
  const m = /^(.*)-production-(v\d+)$/.exec(name);
  return { service: m?.[1] ?? name, version: m?.[2] ?? name };
};

function logElb(service: string, line: string): void {
  const l = elbLog.get(service) ?? [];
  l.push(line);
  elbLog.set(service, l);
}

function recordElbCalls(c: ElasticLoadBalancingV2Client): void {
  c.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as {
        RuleArn?: string;
        TargetGroupArn?: string;
        Actions?: Array<{
          ForwardConfig?: { TargetGroups?: Array<{ TargetGroupArn?: string; Weight?: number }> };
        }>;
      };
      const out = await next(args);
      if (context.commandName === "ModifyRuleCommand" && input.RuleArn) {
        const service = [...platformRules].find(([, arn]) => arn === input.RuleArn)?.[0];
        const groups = input.Actions?.[0]?.ForwardConfig?.TargetGroups ?? [];
        if (service)
          logElb(
            service,
            `modify ${groups.map((g) => `${tgLabel(g.TargetGroupArn ?? "").version}=${g.Weight}`).join(" ")}`,
          );
      }
      if (context.commandName === "DeleteTargetGroupCommand" && input.TargetGroupArn) {
        const t = tgLabel(input.TargetGroupArn);
        logElb(t.service, `delete-tg ${t.version}`);
      }
      if (context.commandName === "DeleteRuleCommand" && input.RuleArn) {
        for (const [stackName, st] of stacks) {
          if (st.ruleArns.includes(input.RuleArn)) {
            const t = tgLabel(st.targetGroupArn);
            logElb(t.service, `delete-rule ${t.version} (${stackName})`);
          }
        }
      }
      return out;
    },
    { step: "initialize", name: "shipshapeTestLog" },
  );
}

async function describeRule(ruleArn: string) {
  const r = await elb.send(new DescribeRulesCommand({ RuleArns: [ruleArn] }));
  const rule = r.Rules?.[0];
  if (!rule) throw new Error(`rule ${ruleArn} not found`);
  return rule;
}

async function ruleForward(ruleArn: string): Promise<Array<[string, number]>> {
  const fwd = (await describeRule(ruleArn)).Actions?.find((a) => a.Type === "forward");
  return (fwd?.ForwardConfig?.TargetGroups ?? []).map((g) => [g.TargetGroupArn ?? "", g.Weight ?? -1]);
}

async function ruleTags(ruleArn: string): Promise<Record<string, string>> {
  const r = await elb.send(new DescribeTagsCommand({ ResourceArns: [ruleArn] }));
  return Object.fromEntries((r.TagDescriptions?.[0]?.Tags ?? []).map((t) => [t.Key ?? "", t.Value ?? ""]));
}

async function targetGroupByName(name: string): Promise<string | null> {
  try {
    const r = await elb.send(new DescribeTargetGroupsCommand({ Names: [name] }));
    return r.TargetGroups?.[0]?.TargetGroupArn ?? null;
  } catch (e) {
    if ((e as Error).name === "TargetGroupNotFoundException") return null;
    throw e;
  }
}

async function listenerRuleArns(): Promise<string[]> {
  const r = await elb.send(new DescribeRulesCommand({ ListenerArn: listenerArn }));
  return (r.Rules ?? []).map((x) => x.RuleArn ?? "");
}

/**
 * Stands in for the ALB publishing its per-target-group metrics: 1000 requests
 * and `errorsPerMille` 5xx every 10 s over the 5 minutes before the provider's
 * lag (60 s), so any measurement in the next minute reads the same ratio.
 */
async function publishAlbMetrics(targetGroupArn: string, errorsPerMille: number): Promise<void> {
  const now = Date.now();
  const dims = [
    { Name: "TargetGroup", Value: targetGroupDimension(targetGroupArn) },
    { Name: "LoadBalancer", Value: loadBalancerDimension(listenerArn) },
  ];
  const stamps = Array.from({ length: 24 }, (_, k) => new Date(now - 62_000 - k * 10_000));
  for (const [name, value] of [
    ["RequestCount", 1000],
    ["HTTPCode_Target_5XX_Count", errorsPerMille],
  ] as const) {
    await cw.send(
      new PutMetricDataCommand({
        Namespace: ALB_NAMESPACE,
        MetricData: stamps.map((Timestamp) => ({
          MetricName: name,
          Unit: "Count",
          Value: value,
          Timestamp,
          Dimensions: dims,
        })),
      }),
    );
  }
}

// ---------------------------------------------------------------------------- the mocked Pulumi engine

/** What one version stack created in moto (the test's stand-in for the Pulumi state). */
interface StackState {
  targetGroupArn: string;
  ruleArns: string[];
  outputs: Record<string, unknown>;
}
const stacks = new Map<string, StackState>();
/** The stack whose program is running (one provision at a time in this test). */
let running: { stackName: string; ruleArns: string[]; targetGroupArn: string | null } | null = null;
const mockErrors: string[] = [];
let nextIp = 10;

type Inputs = Record<string, unknown>;

function ruleConditions(inputs: Inputs): RuleCondition[] {
  const out: RuleCondition[] = [];
  for (const c of (inputs.conditions ?? []) as Inputs[]) {
    const header = c.httpHeader as { httpHeaderName: string; values: string[] } | undefined;
    const host = c.hostHeader as { values: string[] } | undefined;
    const path = c.pathPattern as { values: string[] } | undefined;
    if (header)
      out.push({
        Field: "http-header",
        HttpHeaderConfig: { HttpHeaderName: header.httpHeaderName, Values: header.values },
      });
    if (host) out.push({ Field: "host-header", HostHeaderConfig: { Values: host.values } });
    if (path) out.push({ Field: "path-pattern", PathPatternConfig: { Values: path.values } });
  }
  return out;
}

async function newResource(
  args: pulumi.runtime.MockResourceArgs,
): Promise<pulumi.runtime.MockResourceResult> {
  const inputs = args.inputs as Inputs;
  const name = String(inputs.name ?? args.name);
  if (!running) throw new Error(`resource ${args.type} registered outside a provision`);
  switch (args.type) {
    case "aws:lb/targetGroup:TargetGroup": {
      const hc = (inputs.healthCheck ?? {}) as { path?: string; matcher?: string };
      const r = await elb.send(
        new CreateTargetGroupCommand({
          Name: name,
          Port: Number(inputs.port),
          Protocol: String(inputs.protocol) as "HTTP",
          TargetType: String(inputs.targetType) as "ip",
          VpcId: String(inputs.vpcId),
          HealthCheckPath: hc.path,
          Matcher: hc.matcher ? { HttpCode: hc.matcher } : undefined,
        }),
      );
      const arn = r.TargetGroups?.[0]?.TargetGroupArn;
      if (!arn) throw new Error(`moto returned no target group for ${name}`);
      running.targetGroupArn = arn;
      // The Fargate task the ECS service would register (moto reports IP targets healthy at once).
      await elb.send(
        new RegisterTargetsCommand({
          TargetGroupArn: arn,
          Targets: [{ Id: `10.0.3.${nextIp++}`, Port: Number(inputs.port) }],
        }),
      );
      return { id: arn, state: { ...inputs, arn, arnSuffix: targetGroupDimension(arn) } };
    }
    case "aws:lb/listenerRule:ListenerRule": {
      const actions = (inputs.actions ?? []) as Array<{ type: string; targetGroupArn: string }>;
      const r = await elb.send(
        new CreateRuleCommand({
          ListenerArn: String(inputs.listenerArn),
          Priority: Number(inputs.priority),
          Conditions: ruleConditions(inputs),
          Actions: actions.map((a) => ({ Type: "forward", TargetGroupArn: a.targetGroupArn })),
        }),
      );
      const arn = r.Rules?.[0]?.RuleArn;
      if (!arn) throw new Error("moto returned no rule");
      running.ruleArns.push(arn);
      return { id: arn, state: { ...inputs, arn } };
    }
    case "aws:iam/role:Role":
      return { id: name, state: { ...inputs, arn: `arn:aws:iam::${ACCOUNT}:role/${name}` } };
    case "aws:ecs/taskDefinition:TaskDefinition":
      return {
        id: `${String(inputs.family)}:1`,
        state: {
          ...inputs,
          arn: `arn:aws:ecs:${moto.region}:${ACCOUNT}:task-definition/${String(inputs.family)}:1`,
        },
      };
    default:
      return {
        id: `${args.name}-mock-id`,
        state: { ...inputs, arn: `arn:aws:mock:${moto.region}:${ACCOUNT}:${args.type}/${name}` },
      };
  }
}

async function mockCall(args: pulumi.runtime.MockCallArgs): Promise<Record<string, unknown>> {
  const inputs = args.inputs as Inputs;
  switch (args.token) {
    case "aws:lb/getListener:getListener": {
      const r = await elb.send(new DescribeListenersCommand({ ListenerArns: [String(inputs.arn)] }));
      const l = r.Listeners?.[0];
      return {
        arn: l?.ListenerArn,
        loadBalancerArn: l?.LoadBalancerArn,
        port: l?.Port,
        protocol: l?.Protocol,
      };
    }
    case "aws:lb/getLoadBalancer:getLoadBalancer": {
      const r = await elb.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [String(inputs.arn)] }));
      const lb = r.LoadBalancers?.[0];
      return {
        arn: lb?.LoadBalancerArn,
        vpcId: lb?.VpcId,
        subnets: (lb?.AvailabilityZones ?? []).map((z) => z.SubnetId),
        securityGroups: lb?.SecurityGroups ?? [],
      };
    }
    case "aws:ecs/getCluster:getCluster":
      // ECS is not driven in this test: the cluster lookup is mocked.
      return {
        arn: `arn:aws:ecs:${moto.region}:${ACCOUNT}:cluster/${String(inputs.clusterName)}`,
        clusterName: inputs.clusterName,
      };
    default:
      throw new Error(`unexpected invoke ${args.token}`);
  }
}

function recordErrors<A, R>(what: string, fn: (a: A) => Promise<R>): (a: A) => Promise<R> {
  return async (a) => {
    try {
      return await fn(a);
    } catch (e) {
      mockErrors.push(`${what}: ${(e as Error).name} ${(e as Error).message}`);
      throw e;
    }
  };
}

function resolveOutput(o: unknown, what: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(
      () =>
        reject(new Error(`output ${what} never resolved; mock errors: ${mockErrors.join("; ") || "none"}`)),
      20_000,
    );
    (pulumi.output(o as pulumi.Input<string>) as pulumi.Output<unknown>).apply((v) => {
      clearTimeout(t);
      resolve(v);
      return v;
    });
  });
}

/**
 * The test's InfraDriver: createAwsInfraDriver's contract (stack name, outputs
 * checked with checkVersionOutputs, instances = [targetGroupArn], destroy a
 * no-op when gone) with the program run under Pulumi mocks instead of
 * `pulumi up` / `pulumi destroy`.
 */
const mockedAwsInfra: InfraDriver = {
  async provisionEnvironment(ref, spec, progress): Promise<ProvisionedEnvironment> {
    const stackName = versionStackName(ref);
    const existing = stacks.get(stackName);
    const done = (s: StackState): ProvisionedEnvironment => ({
      stackName,
      instances: [{ url: s.targetGroupArn }],
      outputs: s.outputs,
      clearedLocks: 0,
      clearedPendingOperations: 0,
    });
    if (existing) return done(existing); // `up` of an unchanged stack
    const aws = awsTargets.get(ref.service);
    if (!aws) throw new Error(`no aws target for ${ref.service}`);
    const env: Record<string, pulumi.Input<string>> = { ...spec.run.env };
    for (const [k, v] of Object.entries(spec.env)) env[k] = pulumi.secret(v);
    progress(`mocked pulumi up shipshape-aws/${stackName}`);
    running = { stackName, ruleArns: [], targetGroupArn: null };
    try {
      const outputs = (await versionEnvironmentProgram({
        ...ref,
        aws,
        healthPath: spec.run.healthPath,
        instances: spec.run.instances,
        env,
      })()) as Record<string, unknown>;
      const plain: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(outputs)) plain[k] = await resolveOutput(v, k);
      const checked = checkVersionOutputs(stackName, plain);
      const state: StackState = {
        targetGroupArn: checked.targetGroupArn,
        ruleArns: running.ruleArns,
        outputs: plain,
      };
      stacks.set(stackName, state);
      await publishAlbMetrics(checked.targetGroupArn, greenErrorsPerMille.get(ref.service) ?? 0);
      return done(state);
    } finally {
      running = null;
    }
  },

  async destroyEnvironment(ref, progress) {
    const stackName = versionStackName(ref);
    const s = stacks.get(stackName);
    if (!s) return { existed: false };
    progress(`mocked pulumi destroy shipshape-aws/${stackName}`);
    for (const ruleArn of s.ruleArns) await elb.send(new DeleteRuleCommand({ RuleArn: ruleArn }));
    s.ruleArns = [];
    await elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: s.targetGroupArn }));
    stacks.delete(stackName);
    return { existed: true };
  },
};

// ---------------------------------------------------------------------------- real drivers

let router: ReturnType<typeof createAlbTrafficRouter>;

function config(service: string, priority: number): ReleaseConfig {
  return ReleaseConfigSchema.parse({
    service,
    run: { command: "node server.js", instances: 1, healthPath: "/health" },
    environments: {
      [ENV]: {
        target: "aws",
        compensationAttentionAfter: "5m",
        aws: {
          region: moto.region,
          cluster: "main",
          listenerArn,
          image: `${ACCOUNT}.dkr.ecr.${moto.region}.amazonaws.com/${service}:$version`,
          containerPort: 8080,
          rule: { priority, hosts: [`${service}.example.com`] },
          targetHealthTimeout: "10s",
        },
      },
    },
    database: { url: "postgres://localhost/shop", migrations: "./migrations" },
    release: {
      verify: [{ http: { path: "/health" } }],
      // no bake: each step is measured once, then the next one starts
      steps: [{ weight: 10 }, { weight: 50 }, { weight: 100 }],
      analysis: {
        interval: "1s",
        minRequests: 100,
        metrics: [
          { name: "error-rate", provider: "cloudwatch", query: "error_rate", max: "1%", critical: true },
        ],
      },
      postPromotion: { watch: "1s", keepPrevious: "1s" },
    },
  });
}

/**
 * One service on the shared listener, as a previous deployment left it: blue
 * v1's target group (one healthy target) and the weighted rule (the platform
 * stack's) forwarding to it, the router's table naming v1 as blue, and v1's
 * CloudWatch metrics (0.1% 5xx).
 */
async function serviceWithBlue(service: string, priority: number) {
  const cfg = config(service, priority);
  const aws = cfg.environments[ENV]?.aws;
  if (!aws) throw new Error("config has no aws target");
  awsTargets.set(service, aws);
  const blueName = `${service}-${ENV}-v1`;
  const tg = await elb.send(
    new CreateTargetGroupCommand({
      Name: blueName,
      Protocol: "HTTP",
      Port: 8080,
      VpcId: vpcId,
      TargetType: "ip",
      HealthCheckPath: "/health",
    }),
  );
  const blueTg = tg.TargetGroups?.[0]?.TargetGroupArn ?? "";
  await elb.send(
    new RegisterTargetsCommand({
      TargetGroupArn: blueTg,
      Targets: [{ Id: `10.0.1.${priority % 250}`, Port: 8080 }],
    }),
  );
  const rule = await elb.send(
    new CreateRuleCommand({
      ListenerArn: listenerArn,
      Priority: priority,
      Conditions: [{ Field: "host-header", HostHeaderConfig: { Values: [`${service}.example.com`] } }],
      Actions: [
        { Type: "forward", ForwardConfig: { TargetGroups: [{ TargetGroupArn: blueTg, Weight: 999 }] } },
      ],
    }),
  );
  const ruleArn = rule.Rules?.[0]?.RuleArn ?? "";
  platformRules.set(service, ruleArn);
  // v1's stack (created by an earlier deployment), so decommissioning it has something to destroy.
  stacks.set(versionStackName({ service, environment: ENV, version: "v1" }), {
    targetGroupArn: blueTg,
    ruleArns: [],
    outputs: { targetGroupArn: blueTg, serviceName: blueName },
  });
  const scope = { service, environment: ENV };
  const seeded = await router.setBackends(scope, { blue: { version: "v1", instances: [blueTg] } });
  await router.waitApplied(scope, seeded.tableVersion, 5_000);
  await publishAlbMetrics(blueTg, 1);
  elbLog.delete(service);
  return { cfg, blueTg, ruleArn, scope };
}

async function deploy(
  cfg: ReleaseConfig,
  version: string,
): Promise<{ result: DeploymentResult; status: DeploymentStatus }> {
  const handle = await startDeployment(
    client,
    {
      service: cfg.service,
      environment: ENV,
      version,
      artifact: `${cfg.service}-${version}.tgz`,
      requestedBy: "ci",
      reason: "aws e2e",
      config: cfg,
      configDigest: "sha256:aws-e2e",
      // The fake migration driver ignores the files; the schema phases still run.
      migrations: { files: [], digest: "none" },
    },
    { taskQueue },
  );
  const stuck = new Promise<never>((_, reject) =>
    setTimeout(async () => {
      const s = await handle.query(statusQuery).catch((e: Error) => e);
      reject(new Error(`deployment did not finish: ${JSON.stringify(s).slice(0, 3000)}`));
    }, 50_000).unref(),
  );
  const result = await Promise.race([handle.result(), stuck]);
  return { result, status: await handle.query(statusQuery) };
}

beforeAll(async () => {
  moto = await startMoto();
  elb = new ElasticLoadBalancingV2Client(moto.clientConfig);
  recordElbCalls(elb);
  cw = new CloudWatchClient(moto.clientConfig);
  vpcId = /<vpcId>([^<]+)/.exec(await moto.ec2("DescribeVpcs"))?.[1] ?? "";
  const subnets = [...(await moto.ec2("DescribeSubnets")).matchAll(/<subnetId>([^<]+)/g)].map(
    (m) => m[1] ?? "",
  );
  const lb = await elb.send(
    new CreateLoadBalancerCommand({ Name: "edge", Subnets: subnets.slice(0, 2), Type: "application" }),
  );
  const fallback = await elb.send(
    new CreateTargetGroupCommand({
      Name: "edge-default",
      Protocol: "HTTP",
      Port: 80,
      VpcId: vpcId,
      TargetType: "ip",
    }),
  );
  const l = await elb.send(
    new CreateListenerCommand({
      LoadBalancerArn: lb.LoadBalancers?.[0]?.LoadBalancerArn ?? "",
      Protocol: "HTTP",
      Port: 80,
      DefaultActions: [{ Type: "forward", TargetGroupArn: fallback.TargetGroups?.[0]?.TargetGroupArn ?? "" }],
    }),
  );
  listenerArn = l.Listeners?.[0]?.ListenerArn ?? "";

  await pulumi.runtime.setMocks(
    {
      newResource: recordErrors("newResource", newResource),
      call: recordErrors("call", mockCall),
    },
    "shipshape-aws",
    "aws-e2e",
    false,
  );

  router = createAlbTrafficRouter({
    resolve: (scope) => {
      const ruleArn = platformRules.get(scope.service);
      if (!ruleArn) throw new Error(`no platform rule for ${scope.service}`);
      return { listenerArn, ruleArn };
    },
    client: elb,
    healthTimeoutMs: 10_000,
    pollMs: 100,
  });
  const cloudwatch = createCloudWatchProvider({
    client: cw,
    targets: targetsFromRouter(router, () => listenerArn),
  });
  const fakes = createFakes();

  connection = await Connection.connect({ address: inject("temporalAddress") });
  client = new Client({ connection });
  native = await NativeConnection.connect({ address: inject("temporalAddress") });
  worker = await Worker.create({
    connection: native,
    taskQueue,
    workflowsPath: WORKFLOWS_PATH,
    activities: createActivities({
      targets: singleTarget({
        ...fakes.target,
        kind: "aws",
        infra: mockedAwsInfra,
        router,
        metrics: createMetricProviders({ cloudwatch }),
      }),
      migrations: fakes.deps.migrations,
      notifier: fakes.deps.notifier,
      env: {},
    }),
  });
  workerRun = worker.run();
}, 180_000);

afterAll(async () => {
  if (worker) {
    worker.shutdown();
    await workerRun;
  }
  await native?.close();
  await connection?.close();
  elb?.destroy();
  cw?.destroy();
  await moto?.stop();
});

describe("DeploymentWorkflow on the AWS drivers (moto, mocked Pulumi engine)", () => {
  it("promotes v2: 10% → 50% → 100% on the ALB rule, CloudWatch analysis passes, v1 decommissioned", async () => {
    const service = `shop-${suffix}`;
    greenErrorsPerMille.set(service, 1); // 0.1% 5xx
    const { cfg, blueTg, ruleArn } = await serviceWithBlue(service, 200);

    const { result, status } = await deploy(cfg, "v2");

    expect(result.outcome, result.reason ?? "").toBe("promoted");
    expect(mockErrors).toEqual([]);
    // What moto saw, in order: green attached dark, the three steps, green becomes the only backend, v1 destroyed.
    expect(elbLog.get(service)).toEqual([
      "modify v1=999 v2=0",
      "modify v1=900 v2=100",
      "modify v1=500 v2=500",
      "modify v1=0 v2=999",
      "modify v2=999",
      "delete-tg v1",
    ]);
    // Green's target group is the one the program created in moto, with its task registered and healthy.
    const greenTg = await targetGroupByName(`${service}-${ENV}-v2`);
    expect(greenTg).not.toBeNull();
    const health = await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: greenTg ?? "" }));
    expect(health.TargetHealthDescriptions?.map((d) => d.TargetHealth?.State)).toEqual(["healthy"]);

    // The weighted rule forwards to green only, at the full ALB weight; the table names v2 as blue.
    expect(await ruleForward(ruleArn)).toEqual([[greenTg, 999]]);
    const tags = await ruleTags(ruleArn);
    expect(tags[TAG_SIDE.blue]).toBe(`v2 ${greenTg}`);
    expect(tags[TAG_SIDE.green]).toBe("");
    // The rule's condition is Pulumi's (here: the test's), untouched by the router.
    expect((await describeRule(ruleArn)).Conditions?.[0]?.HostHeaderConfig?.Values).toEqual([
      `${service}.example.com`,
    ]);

    // Green's version rule (header X-Shipshape-Version: v2) exists in moto and reaches green directly.
    const v2Stack = stacks.get(versionStackName({ service, environment: ENV, version: "v2" }));
    expect(v2Stack?.ruleArns).toHaveLength(1);
    const versionRule = await describeRule(v2Stack?.ruleArns[0] ?? "");
    expect(versionRule.Conditions?.find((c) => c.Field === "http-header")?.HttpHeaderConfig).toEqual({
      HttpHeaderName: "X-Shipshape-Version",
      Values: ["v2"],
    });
    expect(
      versionRule.Actions?.[0]?.TargetGroupArn ??
        versionRule.Actions?.[0]?.ForwardConfig?.TargetGroups?.[0]?.TargetGroupArn,
    ).toBe(greenTg);
    expect(Number(versionRule.Priority)).toBeLessThan(200);

    // Blue v1 was decommissioned: its target group is gone from moto.
    expect(await targetGroupByName(`${service}-${ENV}-v1`)).toBeNull();
    expect(stacks.has(versionStackName({ service, environment: ENV, version: "v1" }))).toBe(false);
    expect(blueTg).not.toBe(greenTg);

    expect(result.compensations.map((c) => `${c.name}:${c.status}`)).toEqual([
      "finalize:routes:done",
      "finalize:decommissionBlue:done",
      "finalize:contractSchema:done",
    ]);
    // The verdicts came from CloudWatch (no provider errors, nothing failed, every step analysed).
    expect(status.analysis.verdicts.filter((v) => v.decision === "fail")).toEqual([]);
    expect(status.analysis.verdicts.map((v) => v.line).join("\n")).not.toMatch(/cloudwatch:|inconclusive/);
    expect(status.analysis.verdicts.at(-1)?.line).toMatch(/passed/);
    expect(status.weights).toEqual({ blue: 0, green: 100 });
  });

  it("rolls back v2 on CloudWatch 5xx: rule back to blue 100% first, then green destroyed", async () => {
    const service = `cart-${suffix}`;
    greenErrorsPerMille.set(service, 100); // 10% 5xx, max is 1%
    const { cfg, blueTg, ruleArn } = await serviceWithBlue(service, 400);
    const rulesBefore = (await listenerRuleArns()).length;

    const { result, status } = await deploy(cfg, "v2");

    expect(result.outcome).toBe("rolled-back");
    expect(result.reason).toMatch(/analysis failed: error-rate 10% > max 1% at 10% traffic/);
    expect(mockErrors).toEqual([]);
    // What moto saw, in order: green attached dark, 10%, then traffic back to blue (first),
    // green detached from the rule, and only then green's version rule and target group deleted.
    expect(elbLog.get(service)).toEqual([
      "modify v1=999 v2=0",
      "modify v1=900 v2=100",
      "modify v1=999 v2=0",
      "modify v1=999",
      `delete-rule v2 (${service}-${ENV}-v2)`,
      "delete-tg v2",
    ]);
    // Failed at the first step (10%), on the CloudWatch error rate.
    expect(status.step?.weight).toBe(10);
    const failed = status.analysis.verdicts.filter((v) => v.decision === "fail");
    expect(failed.length).toBeGreaterThan(0);
    expect(failed[0]?.line).toMatch(/error-rate/);

    // Traffic first, then the schema, then green's environment.
    expect(result.compensations.map((c) => `${c.name}:${c.status}`)).toEqual([
      "restoreTraffic:done",
      "rollbackSchema:done",
      "destroyGreen:done",
    ]);
    // The rule forwards to blue only at the full weight; the table has no green.
    expect(await ruleForward(ruleArn)).toEqual([[blueTg, 999]]);
    const tags = await ruleTags(ruleArn);
    expect(tags[TAG_SIDE.blue]).toBe(`v1 ${blueTg}`);
    expect(tags[TAG_SIDE.green]).toBe("");
    expect(status.weights).toEqual({ blue: 100, green: 0 });

    // Green is gone from moto (target group and version rule); blue is untouched.
    expect(await targetGroupByName(`${service}-${ENV}-v2`)).toBeNull();
    expect(stacks.has(versionStackName({ service, environment: ENV, version: "v2" }))).toBe(false);
    expect((await listenerRuleArns()).length).toBe(rulesBefore);
    expect(await targetGroupByName(`${service}-${ENV}-v1`)).toBe(blueTg);
  });
});
