/**
 * One version environment of a service on AWS: an ECS Fargate service behind
 * its own target group on the existing ALB listener of the release config.
 *
 *   target group  <service>-<env>-<version> (≤32 chars), IP targets, health check on run.healthPath
 *   listener rule X-Shipshape-Version: <version> (+ the service's host/path conditions) → this
 *                 target group only: reaches the version directly for verify, and associates the
 *                 target group with the load balancer (ECS refuses a target group without one)
 *   security group ingress on the container port from the load balancer's security groups only
 *   log group     /shipshape/<service>/<env>/<version>
 *   roles         execution role (pull, logs, read exactly the referenced secrets) unless given
 *   parameters    one SSM SecureString per resolved `${env:…}` value: /shipshape/<service>/<env>/<version>/<NAME>
 *   task def      Fargate, awsvpc, image with $version replaced, env, secrets by reference (ARNs)
 *   ECS service   desired count, circuit breaker with rollback, waits for steady state
 *
 * Outputs (the contract of outputs.ts): targetGroupArn, serviceName, testRuleArn,
 * plus taskDefinitionArn, securityGroupId, logGroupName.
 *
 * Secrets reach the task by reference only: `aws.secrets` maps env names to
 * Secrets Manager / SSM ARNs, and the values of resolved `${env:…}` references
 * (`secretEnvNames`) go into SSM SecureString parameters this program owns;
 * both are the container's `secrets` (valueFrom), injected by ECS at task
 * start, so no secret value is in the task definition (which anyone with
 * ecs:DescribeTaskDefinition reads). The execution role may read exactly
 * those; a given `executionRoleArn` needs ssm:GetParameters on
 * `arn:aws:ssm:<region>:<account>:parameter/shipshape/<service>/<env>/*`.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { z } from "zod";
import type { AwsTargetSchema } from "../../../lib/config/schema";
import { resolveImage } from "../../../lib/deployment/target-spec";
import { awsName, versionRulePriority, versionStackName } from "../names";

export type AwsTarget = z.output<typeof AwsTargetSchema>;

export interface VersionEnvironmentArgs {
  service: string;
  environment: string;
  version: string;
  deploymentId?: string;
  aws: AwsTarget;
  healthPath: string;
  /** Tasks when aws.desiredCount is not set (run.instances). */
  instances: number;
  /** Environment of the container; the names in `secretEnvNames` are secrets. */
  env: Record<string, pulumi.Input<string>>;
  /** Names of `env` whose values are secrets: stored in SSM, passed by reference, never in `environment`. */
  secretEnvNames?: string[];
  /** The image to run (the deployment's artifact); default aws.image with $version replaced. */
  image?: string;
}

export const VERSION_HEADER = "X-Shipshape-Version";

const ASSUME_ECS_TASKS = JSON.stringify({
  Version: "2012-10-17",
  Statement: [
    { Effect: "Allow", Principal: { Service: "ecs-tasks.amazonaws.com" }, Action: "sts:AssumeRole" },
  ],
});

/** Secrets Manager ARN (with an optional `:json-key:version-stage:version-id` suffix) → the secret's ARN. */
export function secretResourceArn(valueFrom: string): string {
  const m = /^(arn:[^:]+:secretsmanager:[^:]*:[^:]*:secret:[^:]+)/.exec(valueFrom);
  return m?.[1] ?? valueFrom;
}

export { resolveImage };

export class VersionEnvironment extends pulumi.ComponentResource {
  readonly targetGroup: aws.lb.TargetGroup;
  readonly testRule: aws.lb.ListenerRule;
  readonly securityGroup: aws.ec2.SecurityGroup;
  readonly logGroup: aws.cloudwatch.LogGroup;
  readonly executionRoleArn: pulumi.Output<string>;
  readonly taskDefinition: aws.ecs.TaskDefinition;
  readonly ecsService: aws.ecs.Service;
  readonly outputs: {
    targetGroupArn: pulumi.Output<string>;
    serviceName: pulumi.Output<string>;
    testRuleArn: pulumi.Output<string>;
    taskDefinitionArn: pulumi.Output<string>;
    securityGroupId: pulumi.Output<string>;
    logGroupName: pulumi.Output<string>;
  };

  constructor(name: string, args: VersionEnvironmentArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super("shipshape:aws:VersionEnvironment", name, {}, opts);
    const a = args.aws;
    const parent = { parent: this };
    const base = [args.service, args.environment, args.version];
    const tags: Record<string, string> = {
      ...a.tags,
      "shipshape:service": args.service,
      "shipshape:environment": args.environment,
      "shipshape:version": args.version,
      "shipshape:managed-by": "shipshape",
      ...(args.deploymentId ? { "shipshape:deployment": args.deploymentId } : {}),
    };

    const listener = aws.lb.getListenerOutput({ arn: a.listenerArn }, parent);
    const lb = aws.lb.getLoadBalancerOutput({ arn: listener.loadBalancerArn }, parent);
    const cluster = aws.ecs.getClusterOutput({ clusterName: a.cluster }, parent);

    this.targetGroup = new aws.lb.TargetGroup(
      "target-group",
      {
        name: awsName(base, 32),
        port: a.containerPort,
        protocol: "HTTP",
        targetType: "ip",
        vpcId: lb.vpcId,
        deregistrationDelay: Math.round(a.deregistrationDelay / 1000),
        healthCheck: {
          enabled: true,
          path: args.healthPath,
          protocol: "HTTP",
          matcher: "200-399",
          interval: 15,
          timeout: 5,
          healthyThreshold: 2,
          unhealthyThreshold: 3,
        },
        tags,
      },
      parent,
    );

    const conditions: aws.types.input.lb.ListenerRuleCondition[] = [
      { httpHeader: { httpHeaderName: VERSION_HEADER, values: [args.version] } },
    ];
    if (a.rule?.hosts?.length) conditions.push({ hostHeader: { values: a.rule.hosts } });
    if (a.rule?.paths?.length) conditions.push({ pathPattern: { values: a.rule.paths } });
    this.testRule = new aws.lb.ListenerRule(
      "version-rule",
      {
        listenerArn: a.listenerArn,
        priority: versionRulePriority(a.rule?.priority, versionStackName(args)),
        conditions,
        actions: [{ type: "forward", targetGroupArn: this.targetGroup.arn }],
        tags,
      },
      parent,
    );

    this.securityGroup = new aws.ec2.SecurityGroup(
      "tasks",
      {
        name: awsName([...base, "tasks"], 255),
        description: `Shipshape ${args.service} ${args.environment} ${args.version} tasks: ingress from the load balancer only`,
        vpcId: lb.vpcId,
        ingress: [
          {
            description: "from the load balancer",
            protocol: "tcp",
            fromPort: a.containerPort,
            toPort: a.containerPort,
            securityGroups: lb.securityGroups,
          },
        ],
        egress: [
          { description: "all outbound", protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] },
        ],
        tags,
      },
      parent,
    );

    this.logGroup = new aws.cloudwatch.LogGroup(
      "logs",
      { name: `/shipshape/${base.join("/")}`, retentionInDays: a.logRetentionDays, tags },
      parent,
    );

    // aws.secrets wins over run.env for the same name (a reference the user manages).
    const secretEnvNames = new Set(
      (args.secretEnvNames ?? []).filter((k) => k in args.env && !(k in a.secrets)),
    );
    const parameters = [...secretEnvNames].sort().map((name) => {
      const parameter = new aws.ssm.Parameter(
        `env-${name}`,
        {
          name: `/shipshape/${base.join("/")}/${name}`,
          type: "SecureString",
          value: pulumi.secret(args.env[name] as pulumi.Input<string>),
          description: `Shipshape ${base.join(" ")}: ${name} (resolved on the worker)`,
          tags,
        },
        parent,
      );
      return { name, parameter };
    });
    const secretEntries: Array<[string, pulumi.Input<string>]> = [
      ...Object.entries(a.secrets),
      ...parameters.map(({ name, parameter }): [string, pulumi.Input<string>] => [name, parameter.arn]),
    ].sort(([x], [y]) => x.localeCompare(y));
    if (a.executionRoleArn) {
      this.executionRoleArn = pulumi.output(a.executionRoleArn);
    } else {
      const role = new aws.iam.Role(
        "execution-role",
        { name: awsName([...base, "exec"], 64), assumeRolePolicy: ASSUME_ECS_TASKS, tags },
        parent,
      );
      new aws.iam.RolePolicyAttachment(
        "execution-role-managed",
        {
          role: role.name,
          policyArn: "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy",
        },
        parent,
      );
      if (secretEntries.length > 0) {
        const policy = pulumi.all(secretEntries.map(([, v]) => v)).apply((values) => {
          const arns = values.map(secretResourceArn);
          const sm = arns.filter((x) => x.includes(":secretsmanager:"));
          const ssm = arns.filter((x) => x.includes(":ssm:"));
          const statements: object[] = [];
          if (sm.length)
            statements.push({ Effect: "Allow", Action: ["secretsmanager:GetSecretValue"], Resource: sm });
          if (ssm.length) statements.push({ Effect: "Allow", Action: ["ssm:GetParameters"], Resource: ssm });
          return JSON.stringify({ Version: "2012-10-17", Statement: statements });
        });
        new aws.iam.RolePolicy("execution-role-secrets", { role: role.id, policy }, parent);
      }
      this.executionRoleArn = role.arn;
    }

    const envEntries = Object.entries(args.env)
      .filter(([k]) => !(k in a.secrets) && !secretEnvNames.has(k))
      .sort(([x], [y]) => x.localeCompare(y));
    const containerDefinitions = pulumi.jsonStringify([
      {
        name: args.service,
        image: args.image ?? resolveImage(a.image, args.version),
        essential: true,
        portMappings: [{ containerPort: a.containerPort, protocol: "tcp" }],
        environment: [
          ...envEntries.map(([name, value]) => ({ name, value })),
          { name: "SHIPSHAPE_VERSION", value: args.version },
        ],
        secrets: secretEntries.map(([name, valueFrom]) => ({ name, valueFrom })),
        logConfiguration: {
          logDriver: "awslogs",
          options: {
            "awslogs-group": this.logGroup.name,
            "awslogs-region": a.region,
            "awslogs-stream-prefix": args.service,
          },
        },
      },
    ]);

    this.taskDefinition = new aws.ecs.TaskDefinition(
      "task",
      {
        family: awsName(base, 255),
        cpu: String(a.cpu),
        memory: String(a.memory),
        networkMode: "awsvpc",
        requiresCompatibilities: ["FARGATE"],
        executionRoleArn: this.executionRoleArn,
        ...(a.taskRoleArn ? { taskRoleArn: a.taskRoleArn } : {}),
        containerDefinitions,
        tags,
      },
      parent,
    );

    this.ecsService = new aws.ecs.Service(
      "service",
      {
        name: awsName(base, 255),
        cluster: cluster.arn,
        taskDefinition: this.taskDefinition.arn,
        desiredCount: a.desiredCount ?? args.instances,
        launchType: "FARGATE",
        networkConfiguration: {
          subnets: a.subnets ?? lb.subnets,
          securityGroups: [this.securityGroup.id, ...a.securityGroups],
          assignPublicIp: a.assignPublicIp,
        },
        loadBalancers: [
          {
            targetGroupArn: this.targetGroup.arn,
            containerName: args.service,
            containerPort: a.containerPort,
          },
        ],
        healthCheckGracePeriodSeconds: 30,
        deploymentCircuitBreaker: { enable: true, rollback: true },
        waitForSteadyState: true,
        propagateTags: "SERVICE",
        tags,
      },
      { parent: this, dependsOn: [this.testRule] },
    );

    this.outputs = {
      targetGroupArn: this.targetGroup.arn,
      serviceName: this.ecsService.name,
      testRuleArn: this.testRule.arn,
      taskDefinitionArn: this.taskDefinition.arn,
      securityGroupId: this.securityGroup.id,
      logGroupName: this.logGroup.name,
    };
    this.registerOutputs(this.outputs);
  }
}

/** The Pulumi program of one version environment (stack `versionStackName(ref)` of project AWS_PROJECT). */
export function versionEnvironmentProgram(args: VersionEnvironmentArgs) {
  return async () => {
    const provider = new aws.Provider("aws", { region: args.aws.region as aws.Region });
    const env = new VersionEnvironment(versionStackName(args), args, { providers: [provider] });
    return env.outputs;
  };
}
