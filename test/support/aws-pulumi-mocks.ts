/**
 * Test only: the AWS target's InfraDriver with Shipshape's real
 * version-environment program run under Pulumi mocks instead of `pulumi up`
 * (the AWS provider plugin cannot be installed in the test environment).
 * A test worker loads it with `shipshape worker --test-aws-infra <this file>`;
 * everything else in that worker is the production path.
 *
 * The mocks are backed by moto where moto can: the program's target group
 * is CREATED in moto (with the program's inputs) and one IP target
 * registered in it, standing in for the Fargate task the ECS service would
 * register; its version rule (header X-Shipshape-Version) is created on the
 * real listener; the listener and load balancer lookups answer from moto.
 * The security group, log group, IAM role, SSM parameters, task definition,
 * ECS service and the cluster lookup get mock IDs only; a task definition
 * that holds a resolved secret value is refused (AWS would show it to anyone
 * allowed to describe it). moto itself is the "state": a
 * version's target group is found by its name, so a destroy deletes what the
 * program created (version rules first, then the target group — moto refuses
 * to delete a target group still in a forward action, so a destroy that came
 * before traffic was moved away would fail here as it would on AWS).
 *
 * AWS clients use the SDK's default configuration: the worker's
 * AWS_ENDPOINT_URL points them at moto.
 */
import {
  CreateRuleCommand,
  CreateTargetGroupCommand,
  DeleteRuleCommand,
  DeleteTargetGroupCommand,
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeRulesCommand,
  DescribeTargetGroupsCommand,
  ElasticLoadBalancingV2Client,
  RegisterTargetsCommand,
  type RuleCondition,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import * as pulumi from "@pulumi/pulumi";
import { awsName, versionStackName } from "../../infra/aws/names";
import { checkVersionOutputs } from "../../infra/aws/outputs";
import { VERSION_HEADER, versionEnvironmentProgram } from "../../infra/aws/program/version-environment";
import type { AwsTarget } from "../../lib/config/schema";
import type { InfraDriver, ProvisionedEnvironment } from "../../lib/drivers/infra-driver";

type Inputs = Record<string, unknown>;
const ACCOUNT = "123456789012";

let elb: ElasticLoadBalancingV2Client | undefined;
let region = "";
let mocksInstalled: Promise<unknown> = Promise.resolve();
/** The program being run (one at a time: Pulumi's mock runtime is per process). */
let running: { targetGroupArn: string | null; secretValues: string[] } | null = null;
let queue: Promise<unknown> = Promise.resolve();
let nextIp = 10;

function client(): ElasticLoadBalancingV2Client {
  if (!elb) throw new Error("aws mocks are not installed");
  return elb;
}

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

async function createTargetGroup(inputs: Inputs, name: string): Promise<pulumi.runtime.MockResourceResult> {
  const hc = (inputs.healthCheck ?? {}) as { path?: string; matcher?: string };
  const r = await client().send(
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
  if (running) running.targetGroupArn = arn;
  // The Fargate task the ECS service would register (moto reports IP targets healthy at once).
  await client().send(
    new RegisterTargetsCommand({
      TargetGroupArn: arn,
      Targets: [{ Id: `10.0.3.${nextIp++ % 250}`, Port: Number(inputs.port) }],
    }),
  );
  const suffix = /:(targetgroup\/.+)$/.exec(arn)?.[1] ?? arn;
  return { id: arn, state: { ...inputs, arn, arnSuffix: suffix } };
}

async function createRule(inputs: Inputs): Promise<pulumi.runtime.MockResourceResult> {
  const actions = (inputs.actions ?? []) as Array<{ type: string; targetGroupArn: string }>;
  const r = await client().send(
    new CreateRuleCommand({
      ListenerArn: String(inputs.listenerArn),
      Priority: Number(inputs.priority),
      Conditions: ruleConditions(inputs),
      Actions: actions.map((a) => ({ Type: "forward", TargetGroupArn: a.targetGroupArn })),
    }),
  );
  const arn = r.Rules?.[0]?.RuleArn;
  if (!arn) throw new Error("moto returned no rule");
  return { id: arn, state: { ...inputs, arn } };
}

async function newResource(
  args: pulumi.runtime.MockResourceArgs,
): Promise<pulumi.runtime.MockResourceResult> {
  const inputs = args.inputs as Inputs;
  const name = String(inputs.name ?? args.name);
  switch (args.type) {
    case "aws:lb/targetGroup:TargetGroup":
      return createTargetGroup(inputs, name);
    case "aws:lb/listenerRule:ListenerRule":
      return createRule(inputs);
    case "aws:iam/role:Role":
      return { id: name, state: { ...inputs, arn: `arn:aws:iam::${ACCOUNT}:role/${name}` } };
    case "aws:ssm/parameter:Parameter":
      return { id: name, state: { ...inputs, arn: `arn:aws:ssm:${region}:${ACCOUNT}:parameter${name}` } };
    case "aws:ecs/taskDefinition:TaskDefinition": {
      // AWS shows a task definition to anyone with ecs:DescribeTaskDefinition: refuse
      // what AWS would expose, a resolved secret in it instead of a reference.
      const text = JSON.stringify(inputs);
      const leaked = (running?.secretValues ?? []).filter((v) => v.length >= 4 && text.includes(v));
      if (leaked.length > 0)
        throw new Error(
          `task definition ${String(inputs.family)} holds ${leaked.length} resolved secret value(s)`,
        );
      const family = String(inputs.family);
      return {
        id: `${family}:1`,
        state: { ...inputs, arn: `arn:aws:ecs:${region}:${ACCOUNT}:task-definition/${family}:1` },
      };
    }
    default:
      return {
        id: `${args.name}-mock-id`,
        state: { ...inputs, arn: `arn:aws:mock:${region}:${ACCOUNT}:${args.type}/${name}` },
      };
  }
}

async function mockCall(args: pulumi.runtime.MockCallArgs): Promise<Record<string, unknown>> {
  const inputs = args.inputs as Inputs;
  switch (args.token) {
    case "aws:lb/getListener:getListener": {
      const l = (await client().send(new DescribeListenersCommand({ ListenerArns: [String(inputs.arn)] })))
        .Listeners?.[0];
      return {
        arn: l?.ListenerArn,
        loadBalancerArn: l?.LoadBalancerArn,
        port: l?.Port,
        protocol: l?.Protocol,
      };
    }
    case "aws:lb/getLoadBalancer:getLoadBalancer": {
      const lb = (
        await client().send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [String(inputs.arn)] }))
      ).LoadBalancers?.[0];
      return {
        arn: lb?.LoadBalancerArn,
        vpcId: lb?.VpcId,
        subnets: (lb?.AvailabilityZones ?? []).map((z) => z.SubnetId),
        securityGroups: lb?.SecurityGroups ?? [],
      };
    }
    case "aws:ecs/getCluster:getCluster":
      // ECS is not emulated here: the cluster lookup is mocked.
      return {
        arn: `arn:aws:ecs:${region}:${ACCOUNT}:cluster/${String(inputs.clusterName)}`,
        clusterName: inputs.clusterName,
      };
    default:
      throw new Error(`unexpected invoke ${args.token}`);
  }
}

function resolveOutput(o: unknown, what: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`output ${what} never resolved`)), 30_000);
    (pulumi.output(o as pulumi.Input<string>) as pulumi.Output<unknown>).apply((v) => {
      clearTimeout(t);
      resolve(v);
      return v;
    });
  });
}

async function targetGroupNamed(name: string): Promise<string | null> {
  try {
    const r = await client().send(new DescribeTargetGroupsCommand({ Names: [name] }));
    return r.TargetGroups?.[0]?.TargetGroupArn ?? null;
  } catch (e) {
    if ((e as Error).name === "TargetGroupNotFoundException") return null;
    throw e;
  }
}

/** The version rules of a version environment: header rules on the listener that forward to its target group. */
async function versionRules(listenerArn: string, targetGroupArn: string): Promise<string[]> {
  const rules = (await client().send(new DescribeRulesCommand({ ListenerArn: listenerArn }))).Rules ?? [];
  const forwardsTo = (r: (typeof rules)[number]) =>
    (r.Actions ?? []).some(
      (a) =>
        a.TargetGroupArn === targetGroupArn ||
        (a.ForwardConfig?.TargetGroups ?? []).some((g) => g.TargetGroupArn === targetGroupArn),
    );
  const isVersionRule = (r: (typeof rules)[number]) =>
    (r.Conditions ?? []).some((c) => c.HttpHeaderConfig?.HttpHeaderName === VERSION_HEADER);
  return rules.filter((r) => isVersionRule(r) && forwardsTo(r)).map((r) => r.RuleArn ?? "");
}

function serially<T>(work: () => Promise<T>): Promise<T> {
  const next = queue.then(work, work);
  queue = next.catch(() => undefined);
  return next;
}

/** `shipshape worker --test-aws-infra` calls this for every AWS environment it serves. */
export function awsInfra(aws: AwsTarget): InfraDriver {
  if (!elb) {
    elb = new ElasticLoadBalancingV2Client({ region: aws.region });
    region = aws.region;
    mocksInstalled = Promise.resolve(
      pulumi.runtime.setMocks({ newResource, call: mockCall }, "shipshape-aws", "moto", false),
    );
  }
  return {
    provisionEnvironment: (ref, spec, progress) =>
      serially(async (): Promise<ProvisionedEnvironment> => {
        const stackName = versionStackName(ref);
        const name = awsName([ref.service, ref.environment, ref.version], 32);
        const done = (targetGroupArn: string): ProvisionedEnvironment => ({
          stackName,
          instances: [{ url: targetGroupArn }],
          outputs: { targetGroupArn, serviceName: name },
          clearedLocks: 0,
          clearedPendingOperations: 0,
        });
        await mocksInstalled;
        const existing = await targetGroupNamed(name);
        if (existing) return done(existing); // `up` of an unchanged stack
        // As infra/aws/driver.ts builds them.
        const secretNames = spec.secretNames ?? Object.keys(spec.env);
        const env: Record<string, pulumi.Input<string>> = { ...spec.run.env, ...spec.env };
        for (const k of secretNames) if (k in env) env[k] = pulumi.secret(spec.env[k] ?? "");
        progress(`mocked pulumi up shipshape-aws/${stackName} (image ${spec.artifact.location})`);
        running = { targetGroupArn: null, secretValues: secretNames.map((k) => spec.env[k] ?? "") };
        try {
          const outputs = (await versionEnvironmentProgram({
            ...ref,
            aws,
            healthPath: spec.run.healthPath,
            instances: spec.run.instances,
            env,
            secretEnvNames: secretNames,
            image: spec.artifact.location,
          })()) as Record<string, unknown>;
          const plain: Record<string, unknown> = {};
          for (const [k, v] of Object.entries(outputs)) plain[k] = await resolveOutput(v, k);
          return done(checkVersionOutputs(stackName, plain).targetGroupArn);
        } finally {
          running = null;
        }
      }),
    destroyEnvironment: (ref, progress) =>
      serially(async () => {
        const tg = await targetGroupNamed(awsName([ref.service, ref.environment, ref.version], 32));
        if (!tg) return { existed: false };
        progress(`mocked pulumi destroy shipshape-aws/${versionStackName(ref)}`);
        for (const rule of await versionRules(aws.listenerArn, tg))
          await client().send(new DeleteRuleCommand({ RuleArn: rule }));
        await client().send(new DeleteTargetGroupCommand({ TargetGroupArn: tg }));
        return { existed: true };
      }),
  };
}
